r"""Small two-player games with known equilibria, for studying game optimizers; built by name.

============= ======================================================================= ===========================
name          game                                                                    players (maximising first)
============= ======================================================================= ===========================
``bilinear``  :math:`\min_x\max_y (x-x^*)^\top A (y-y^*)`                             ``y``, ``x``
``quadratic`` the bilinear game plus :math:`\tfrac{\mu}{2}(|x-x^*|^2 - |y-y^*|^2)`      ``y``, ``x``
``dirac``     Dirac-GAN (Mescheder, Geiger & Nowozin, 2018)                            ``psi``, ``theta``
``mixture``   a small GAN on a 2-D mixture of Gaussians                                ``discriminator``, ``generator``
============= ======================================================================= ===========================

Every game reports ``distance_to_equilibrium()``: the Euclidean distance to its equilibrium
point, or for ``mixture`` a kernel MMD between generated and data samples.
"""
from __future__ import annotations

import inspect

from ali_opt.errors import ConfigError, check_choice
from ali_opt.game import Game

from .bilinear import BilinearGame
from .dirac import DiracGAN
from .mixture import MixtureGAN
from .options import option_key
from .quadratic import QuadraticGame

TOY_GAMES = {
    "bilinear": BilinearGame,
    "quadratic": QuadraticGame,
    "dirac": DiracGAN,
    "mixture": MixtureGAN,
}
"""The toy games by name."""


def toy_game_options(name: str) -> dict:
    """The options of game ``name`` with their defaults."""
    parameters = inspect.signature(TOY_GAMES[check_choice("game", name, TOY_GAMES)]).parameters.values()
    return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}


def build_toy_game(name: str, **options) -> Game:
    """The toy game ``name`` built with ``options``; others keep their defaults.

    Raises :class:`ConfigError` naming the key (``game`` or ``game_options.<option>``), the
    value and what is valid, for an unknown game, an unknown option or a bad value.
    """
    valid = toy_game_options(name)
    for option, value in options.items():
        if option not in valid:
            raise ConfigError(
                f"{option_key(option)}={value!r} is not an option of the {name} game; "
                f"valid options: {', '.join(valid)}"
            )
    return TOY_GAMES[name](**options)


__all__ = ["TOY_GAMES", "BilinearGame", "DiracGAN", "MixtureGAN", "QuadraticGame", "build_toy_game",
           "toy_game_options"]
