"""Other platforms running the same networks, for comparison (modelled, never measured)."""

from epur.baselines.tegra_x1 import TEGRA_X1, PlatformResult, RooflinePlatform, roofline

__all__ = ["TEGRA_X1", "PlatformResult", "RooflinePlatform", "roofline"]
