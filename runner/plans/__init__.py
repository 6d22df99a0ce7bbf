"""Quarterly drill plans (`drills/2026Q4.yml`): what to drill, who owns it, by when."""

from runner.plans.model import DrillPlan, PlanEntry, load_plan
from runner.plans.status import EntryStatus, plan_status

__all__ = ["DrillPlan", "EntryStatus", "PlanEntry", "load_plan", "plan_status"]
