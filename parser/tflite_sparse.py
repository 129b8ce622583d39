"""Sparse TFLite constants (the DENSIFY input) made dense at import.

A sparse tensor stores its nonzero values in traversal order over `rank + len(block_map)`
expanded dims: dims `rank + k` are the inner blocks of dim `block_map[k]`. Each traversal
level is DENSE (every index of `dense_size`) or SPARSE_CSR (the indices
`array_indices[segments[p]:segments[p + 1]]` under parent position `p`), like TFLite's own
`FormatConverter::SparseToDense`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tflite

DENSE, SPARSE_CSR = 0, 1
_INDEX_VECTORS = {1: tflite.Int32Vector, 2: tflite.Uint16Vector, 3: tflite.Uint8Vector}


@dataclass(frozen=True)
class Level:
    sparse: bool
    dense_size: int
    segments: np.ndarray
    indices: np.ndarray


def read_levels(sparsity: Any) -> tuple[list[int], list[int], list[Level]]:
    """(traversal_order, block_map, levels) of a SparsityParameters table."""
    order = (
        [int(v) for v in sparsity.TraversalOrderAsNumpy()]
        if sparsity.TraversalOrderLength()
        else []
    )
    block_map = [int(v) for v in sparsity.BlockMapAsNumpy()] if sparsity.BlockMapLength() else []
    levels = []
    for j in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(j)
        sparse = meta.Format() == SPARSE_CSR
        segments = _index_vector(meta.ArraySegmentsType(), meta.ArraySegments()) if sparse else None
        indices = _index_vector(meta.ArrayIndicesType(), meta.ArrayIndices()) if sparse else None
        empty = np.zeros(0, np.int64)
        levels.append(Level(sparse, meta.DenseSize(), segments if segments is not None else empty,
                            indices if indices is not None else empty))  # fmt: skip
    return order, block_map, levels


def _index_vector(kind: int, table: Any) -> np.ndarray:
    if kind not in _INDEX_VECTORS or table is None:
        raise ValueError(f"sparse index vector of type {kind}")
    vector = _INDEX_VECTORS[kind]()
    vector.Init(table.Bytes, table.Pos)
    return np.asarray(vector.ValuesAsNumpy() if vector.ValuesLength() else [], np.int64)


def densify(
    values: np.ndarray,
    shape: tuple[int, ...],
    order: list[int],
    block_map: list[int],
    levels: list[Level],
) -> np.ndarray:
    """The dense tensor of `shape` whose nonzeros `values` lists in traversal order."""
    rank = len(shape)
    if len(order) != len(levels) or sorted(order) != list(range(rank + len(block_map))):
        raise ValueError("sparsity traversal order does not cover the tensor's dims")
    block_sizes = {
        rank + k: levels[order.index(rank + k)].dense_size for k in range(len(block_map))
    }
    coordinates = _leaves(
        levels, int(np.prod(shape))
    )  # [nnz, levels]: one row of level indices per stored value
    if len(coordinates) != len(values):
        raise ValueError(
            f"sparsity describes {len(coordinates)} values, the buffer holds {len(values)}"
        )
    expanded = np.zeros((len(values), rank + len(block_map)), np.int64)
    expanded[:, order] = coordinates
    dense_index = expanded[:, :rank].copy()
    for k, dim in enumerate(block_map):
        dense_index[:, dim] = dense_index[:, dim] * block_sizes[rank + k] + expanded[:, rank + k]
    if len(values) and (dense_index.min() < 0 or np.any(dense_index >= np.array(shape))):
        raise ValueError("a sparse index lies outside the tensor")
    dense = np.zeros(shape, values.dtype)
    dense[tuple(dense_index.T)] = values
    return dense


def _leaves(levels: list[Level], limit: int) -> np.ndarray:
    """The level indices of every stored value, level by level (vectorized per level);
    more than `limit` (the dense element count) partial paths is a corrupt file."""
    rows = np.zeros((1, 0), np.int64)
    positions = np.zeros(1, np.int64)  # each partial path's position in its level
    for level in levels:
        if level.sparse:
            if len(level.segments) < positions.max(initial=-1) + 2:
                raise ValueError("sparse segments shorter than their parent level")
            starts, stops = level.segments[positions], level.segments[positions + 1]
            counts = np.maximum(stops - starts, 0)
            parent = np.repeat(np.arange(len(positions)), counts)
            positions = np.concatenate(
                [np.arange(a, b) for a, b in zip(starts, stops, strict=True)]
                or [np.zeros(0, np.int64)]
            )
            if len(positions) and positions.max() >= len(level.indices):
                raise ValueError("sparse indices shorter than their segments")
            column = level.indices[positions]
        else:
            size = level.dense_size
            if size < 0 or len(positions) * size > limit:
                raise ValueError(f"dense sparsity level of size {size} exceeds the tensor")
            parent = np.repeat(np.arange(len(positions)), size)
            column = np.tile(np.arange(size), len(positions))
            positions = positions[parent] * size + column
        rows = np.concatenate([rows[parent], column[:, None]], axis=1)
    return rows
