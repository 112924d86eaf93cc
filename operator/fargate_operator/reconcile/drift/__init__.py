"""Drift: what ECS shows that the spec does not say, in normalised forms.

forms.py    typed forms: pydantic models generated from botocore's ECS request shapes
normalize.py the rules that make equal things equal (ECS defaults, order, units, ARNs vs names)
compare.py  desired vs observed per kind -> the differing fields, rendered without secrets
policy.py   per object: correct, report or observe; how often a correction may be made
"""
