"""Short names for the typed numpy arrays the package passes around (for annotations only)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["F8", "I8"]

#: An array of float64.
F8 = npt.NDArray[np.float64]
#: An array of int64.
I8 = npt.NDArray[np.int64]
