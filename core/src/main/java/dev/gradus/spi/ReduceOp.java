package dev.gradus.spi;

/** Reductions along one axis of a contiguous input. {@code ARGMAX} writes {@code INT32} indices. */
public enum ReduceOp {
    SUM,
    MAX,
    ARGMAX
}
