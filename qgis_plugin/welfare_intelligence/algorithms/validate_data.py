"""welfare:validate_data — every problem in the given layers and tables, one row each."""
from .base import NO_COUNTS, WelfareAlgorithm

# Inputs shown first; the others are under "Advanced parameters".
MAIN = ("zone", "facility", "population", "demand", "target", "service_type",
        "service_target", "source")
MORE = ("candidate_site", "household", "household_type", "target_prevalence",
        "target_household", "travel_cost")


class ValidateData(WelfareAlgorithm):
    ALG_ID = "validate_data"
    GROUP = "data"
    PUBLICATION = NO_COUNTS  # a list of data problems

    def declare(self):
        for table in MAIN + MORE:
            self.add_table(table, optional=True, advanced=table in MORE)
        self.add_target_crs()
        self.add_sink("OUTPUT")

    def compute(self, parameters, context, feedback, progress):
        from welfare_core.errors import InputError
        from welfare_core.validation import PROBLEM_COLUMNS, validate
        # A missing or geographic CRS is a finding of the report, not an error.
        inputs = self.read_tables(parameters, context, progress.scaled(0, 80),
                                  require_projected=False)
        if not inputs.tables:
            raise InputError("no layer or table to check",
                             hint="choose at least one input, e.g. ZONES")
        problems = validate(inputs.tables, crs=inputs.crs)
        progress(85)
        feedback.pushInfo(f"{len(problems)} problem(s) found")
        dest = self.write_sink(problems, parameters, "OUTPUT", context,
                               types=dict.fromkeys(PROBLEM_COLUMNS, "text"),
                               progress=progress.scaled(85, 100))
        return {"OUTPUT": dest}
