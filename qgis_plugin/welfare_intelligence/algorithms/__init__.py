"""Every algorithm of the provider.  Adding one: write a module with a
``WelfareAlgorithm`` subclass, its ``help/<id>.en.md`` and ``help/<id>.it.md``,
and list the class here."""
from .validate_data import ValidateData

ALGORITHMS = (ValidateData,)
