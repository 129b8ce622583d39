"""Target-ISA dialects: thin, one op per instruction or intrinsic family (neon, hvx, ocl, ...)."""
