"""numba kernels: loops over validated arrays, results into ``out``, nothing returned.

Private: nothing here is re-exported. Imports only numpy, numba, math and its own modules;
``cacheguard`` (not a kernel: it keeps numba's on-disk cache in step with all the kernel
sources as they are imported) also uses the standard library's hashing and files.
"""
