"""numba kernels: loops over validated arrays, results into ``out``, nothing returned.

Private: nothing here is re-exported. Imports only numpy, numba, math and its own modules.
"""
