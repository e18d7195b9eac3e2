"""Data-subject rights and data minimisation across the oracle store, the API store and the chain.

See docs/privacy.md for the data map.  :mod:`co3chain.privacy.rights` builds a citizen's export and performs
erasure; :mod:`co3chain.privacy.log` records every such request; the retention job of the oracle lives in
:mod:`co3chain.oracle.retention`.
"""
