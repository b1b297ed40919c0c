"""orgdrift: check Auth0 Organizations against a declared YAML spec."""

__version__ = "0.1.0"
__all__ = ["__version__"]
