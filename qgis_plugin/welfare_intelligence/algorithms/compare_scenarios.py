"""welfare:compare_scenarios — two sets of changes on the same data, compared per zone × target.

A thin door over ``welfare_core.scenario`` and ``welfare_core.scenario_compare``:
scenario A = the base data with the changes of CHANGES_A, scenario B = the
base data with those of CHANGES_B (an empty or missing table = the base data
itself); ``scenario_compare.compare(A, B)`` per zone × target × measure, with
the same output, privacy and style as welfare:simulate_scenario.
"""
from .simulate_scenario import ScenarioAlgorithm


class CompareScenarios(ScenarioAlgorithm):
    ALG_ID = "compare_scenarios"

    def declare(self):
        self.declare_base()
        self.add_changes("CHANGES_A")
        self.add_changes("CHANGES_B")
        self.declare_options()

    def compute(self, parameters, context, feedback, progress):
        from welfare_core import scenario as sc
        from welfare_core.scenario_compare import prepare
        opts = self.options(parameters, context)
        inputs = self.read_base(parameters, context, feedback, progress.scaled(0, 40))
        tables = inputs.tables
        sides = {}
        for key in ("CHANGES_A", "CHANGES_B"):
            changes = self.read_changes(parameters, key, context) or []
            feedback.pushInfo(f"{key}: {len(changes)} change(s)" + (": " + ", ".join(
                f"{c.kind} {c.to_json()}" for c in changes) if changes else " (the base data)"))
            sides[key] = changes
        progress(45)
        base = prepare(tables)
        a = sc.apply(base, sides["CHANGES_A"])
        b = sc.apply(base, sides["CHANGES_B"])
        progress(50)
        return self.compare_and_write(a, b, tables, inputs, opts, parameters, context,
                                      feedback, progress.scaled(50, 100))
