package dev.gradus.spi;

/** 2-D pooling kinds. */
public enum PoolOp {
    MAX,
    AVG
}
