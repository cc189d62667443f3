"""The planner (exact expectations of the game's rules) lives in :mod:`gtalign_sim.core`;
re-exported here for compatibility."""

from ..core.expect import OBJECTIVES, Planner, PlanResult, Rows

__all__ = ["OBJECTIVES", "PlanResult", "Planner", "Rows"]
