/// A block of memory owned by a backend: host memory for the CPU backend, device memory for CUDA.
///
/// The address is an integer so that one type serves both; only the backend that made it
/// dereferences it.
public final class DeviceStorage: @unchecked Sendable {
    // @unchecked: the fields are immutable after init; the memory they point at is synchronized by
    // the backend's own stream ordering, not by Swift.
    public let address: UInt
    public let byteCount: Int
    private let release: (@Sendable (UInt) -> Void)?

    /// - Parameter release: called once when the last tensor using this storage goes away
    ///   (`nil` for memory owned elsewhere, e.g. an arena or a memory-mapped file kept alive by `owner`).
    public init(address: UInt, byteCount: Int, owner: AnyObject? = nil, release: (@Sendable (UInt) -> Void)?) {
        self.address = address
        self.byteCount = byteCount
        self.owner = owner
        self.release = release
    }

    /// Keeps a parent object (a memory-mapped file, an arena) alive as long as this storage.
    private let owner: AnyObject?

    deinit { release?(address) }
}

/// A dense, row-major view into `DeviceStorage`: shape and dtype next to the data.
///
/// Tensors are values; copying one copies the view, not the memory. Reshaping is free.
public struct Tensor: @unchecked Sendable, CustomStringConvertible {
    // @unchecked: see DeviceStorage.
    public let storage: DeviceStorage
    public let byteOffset: Int
    public let shape: [Int]
    public let dtype: DType

    public init(storage: DeviceStorage, byteOffset: Int = 0, shape: [Int], dtype: DType) {
        precondition(byteOffset + shape.reduce(1, *) * dtype.size <= storage.byteCount,
                     "tensor \(shape) \(dtype) at +\(byteOffset) overruns its \(storage.byteCount)-byte storage")
        self.storage = storage
        self.byteOffset = byteOffset
        self.shape = shape
        self.dtype = dtype
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.size }
    public var rank: Int { shape.count }
    /// Address of the first element.
    public var address: UInt { storage.address + UInt(byteOffset) }

    /// The same memory with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(storage: storage, byteOffset: byteOffset, shape: newShape, dtype: dtype)
    }

    /// Rows `range` of the leading dimension.
    public func rows(_ range: Range<Int>) -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[0], "rows \(range) out of \(shape)")
        let rowBytes = shape.dropFirst().reduce(1, *) * dtype.size
        return Tensor(storage: storage, byteOffset: byteOffset + range.lowerBound * rowBytes,
                      shape: [range.count] + shape.dropFirst(), dtype: dtype)
    }

    public var description: String { "Tensor(\(shape), \(dtype))" }
}
