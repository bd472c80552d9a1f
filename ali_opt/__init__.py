"""ali-opt: game optimizers for two-player games, built around Adversarially Learned Inference."""
import warnings

# Sacred 0.8.7 imports pkg_resources, whose deprecation warning would greet every command.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
