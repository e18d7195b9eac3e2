"""Participatory budgeting: the outcome rule, contract access and the CLI for ParticipatoryBudget rounds."""
