import CCUDA
import VLLMCompute

extension CUDABackend {
    public func allocate(shape: [Int], dtype: DType) throws -> Tensor {
        try require(shape.allSatisfy { $0 >= 0 }, "allocate", "negative dimension in \(shape)")
        let bytes = shape.reduce(1, *) * dtype.size
        let pointer = try allocator.allocate(bytes)
        let allocator = self.allocator
        let storage = DeviceStorage(address: UInt(pointer), byteCount: bytes, release: { address in
            allocator.release(CUdeviceptr(address))
        })
        return Tensor(storage: storage, shape: shape, dtype: dtype)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, sourceDType: DType, shape: [Int], dtype: DType) throws -> Tensor {
        let count = shape.reduce(1, *)
        try require(bytes.count >= count * sourceDType.size, "upload",
                    "\(bytes.count) bytes for \(shape) \(sourceDType)")
        try require(sourceDType.isFloatingPoint == dtype.isFloatingPoint, "upload",
                    "cannot convert \(sourceDType) to \(dtype)")
        let tensor = try allocate(shape: shape, dtype: dtype)
        if sourceDType == dtype {
            try copyToDevice(UnsafeRawBufferPointer(rebasing: bytes[0..<tensor.byteCount]), tensor.devicePointer)
            return tensor
        }
        // Convert on the host in chunks of 4M elements, so a large weight needs no full-size host copy.
        let chunk = 1 << 22
        var start = 0
        while start < count {
            let end = min(count, start + chunk)
            let converted = Self.convert(bytes, from: sourceDType, range: start..<end, to: dtype)
            try converted.withUnsafeBytes {
                try copyToDevice($0, tensor.devicePointer + CUdeviceptr(start * dtype.size))
            }
            start = end
        }
        try stream.synchronize()  // the chunk buffers must outlive their copies
        return tensor
    }

    /// Host conversion between the float formats (bit-exact with PyTorch's rounding).
    static func convert(_ bytes: UnsafeRawBufferPointer, from source: DType, range: Range<Int>, to target: DType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: range.count * target.size)
        guard let base = bytes.baseAddress else { return out }
        out.withUnsafeMutableBytes { buffer in
            for (j, i) in range.enumerated() {
                target.storeFloat(source.loadFloat(from: base, at: i), to: buffer.baseAddress!, at: j)
            }
        }
        return out
    }

    public func copy(_ values: [Int32], into tensor: Tensor) throws {
        try require(tensor.dtype == .int32 && values.count <= tensor.count, "copy",
                    "\(values.count) int32 values into \(tensor)")
        try values.withUnsafeBytes { try copyToDevice($0, tensor.devicePointer) }
    }

    public func downloadFloats(_ tensor: Tensor) throws -> [Float] {
        try require(tensor.dtype.isFloatingPoint, "downloadFloats", "\(tensor) is not a float tensor")
        var raw = [UInt8](repeating: 0, count: tensor.byteCount)
        try raw.withUnsafeMutableBytes { try copyToHost($0, tensor.devicePointer) }
        return raw.withUnsafeBytes { bytes in
            (0..<tensor.count).map { tensor.dtype.loadFloat(from: bytes.baseAddress!, at: $0) }
        }
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        try require(tensor.dtype == .int32, "downloadInt32", "\(tensor) is not int32")
        var values = [Int32](repeating: 0, count: tensor.count)
        try values.withUnsafeMutableBytes { try copyToHost($0, tensor.devicePointer) }
        return values
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try require(source.shape.reduce(1, *) == destination.count && source.dtype == destination.dtype, "copy",
                    "\(source) to \(destination)")
        guard source.byteCount > 0 else { return }
        try context.makeCurrent()
        try check(driver.cuMemcpyDtoDAsync!(destination.devicePointer, source.devicePointer, source.byteCount, stream.handle),
                  "cuMemcpyDtoDAsync(\(source.byteCount) bytes)")
        try profiler.mark("copy")
    }

    public func synchronize() throws {
        try stream.synchronize()
    }

    /// Host → device on the stream. Up to 16 MiB (step inputs, sampler parameters) through pinned staging,
    /// so the call never waits for the work queued before it; larger (weights) straight from pageable
    /// memory, staged by the driver before the call returns.
    func copyToDevice(_ bytes: UnsafeRawBufferPointer, _ destination: CUdeviceptr) throws {
        guard !bytes.isEmpty else { return }
        if bytes.count <= 1 << 24 {
            try uploads.upload(bytes, to: destination)
            try profiler.mark("upload")
            return
        }
        try context.makeCurrent()
        try check(driver.cuMemcpyHtoDAsync!(destination, bytes.baseAddress, bytes.count, stream.handle),
                  "cuMemcpyHtoDAsync(\(bytes.count) bytes)")
        try profiler.mark("upload")
    }

    /// Device → host, waiting for the stream.
    func copyToHost(_ bytes: UnsafeMutableRawBufferPointer, _ source: CUdeviceptr) throws {
        guard !bytes.isEmpty else { return }
        try context.makeCurrent()
        try check(driver.cuMemcpyDtoHAsync!(bytes.baseAddress, source, bytes.count, stream.handle),
                  "cuMemcpyDtoHAsync(\(bytes.count) bytes)")
        try stream.synchronize()
    }
}
