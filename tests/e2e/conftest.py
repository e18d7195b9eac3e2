"""One running stack (node + suite + API + 3-operator oracle) shared by the scenarios of a module.

Why shared: bringing the stack up costs ~30 s of the 2 shared cores; each scenario uses its own fresh
citizen, event ids and proposal, so scenarios do not depend on each other's state or order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e")) as s:
        yield s
