import CCUDA

/// One GPU and its primary context: what the device is (name, architecture, memory), and the
/// `makeCurrent` every entry point calls, since the driver's current context is per thread.
public final class CUDAContext: @unchecked Sendable {
    // @unchecked: immutable after init; the driver synchronizes its own context state.
    let driver: CUDADriverAPI
    let device: CUdevice
    let context: CUcontext
    public let ordinal: Int
    public let deviceName: String
    public let computeCapability: (major: Int, minor: Int)
    public let multiprocessorCount: Int
    public let totalMemory: Int

    /// Opens device `ordinal`; throws naming what was looked for when there is no driver or device.
    public init(ordinal: Int = 0) throws {
        let driver = try CUDADriverAPI()
        self.driver = driver
        try driver.check(driver.raw.cuInit!(0), "cuInit")
        var count: Int32 = 0
        try driver.check(driver.raw.cuDeviceGetCount!(&count), "cuDeviceGetCount")
        guard ordinal >= 0 && ordinal < Int(count) else {
            throw CUDAError("CUDA device \(ordinal) requested but the driver reports \(count) device(s)")
        }
        var device: CUdevice = 0
        try driver.check(driver.raw.cuDeviceGet!(&device, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        self.device = device
        self.ordinal = ordinal
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try driver.check(driver.raw.cuDeviceGetName!(&nameBuffer, 255, device), "cuDeviceGetName")
        deviceName = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        func attribute(_ which: Int32) throws -> Int {
            var value: Int32 = 0
            try driver.check(driver.raw.cuDeviceGetAttribute!(&value, which, device), "cuDeviceGetAttribute(\(which))")
            return Int(value)
        }
        computeCapability = (try attribute(Int32(CCUDA_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)),
                             try attribute(Int32(CCUDA_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)))
        multiprocessorCount = try attribute(Int32(CCUDA_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT))
        var bytes = 0
        try driver.check(driver.raw.cuDeviceTotalMem!(&bytes, device), "cuDeviceTotalMem")
        totalMemory = bytes
        var context: CUcontext?
        try driver.check(driver.raw.cuDevicePrimaryCtxRetain!(&context, device), "cuDevicePrimaryCtxRetain")
        guard let context else { throw CUDAError("cuDevicePrimaryCtxRetain returned no context") }
        self.context = context
        try makeCurrent()
    }

    /// GPUs the driver shows this process (those `CUDA_VISIBLE_DEVICES` lists, when it is set).
    public static func deviceCount() throws -> Int {
        let driver = try CUDADriverAPI()
        try driver.check(driver.raw.cuInit!(0), "cuInit")
        var count: Int32 = 0
        try driver.check(driver.raw.cuDeviceGetCount!(&count), "cuDeviceGetCount")
        return Int(count)
    }

    /// Binds this context to the calling thread.
    func makeCurrent() throws {
        try driver.check(driver.raw.cuCtxSetCurrent!(context), "cuCtxSetCurrent")
    }

    /// Free and total device memory, as the driver sees them now.
    public func memoryInfo() throws -> (free: Int, total: Int) {
        try makeCurrent()
        var free = 0
        var total = 0
        try driver.check(driver.raw.cuMemGetInfo!(&free, &total), "cuMemGetInfo")
        return (free, total)
    }
}

/// A CUDA stream: every op of a backend is queued on its one stream, in order.
public final class CUDAStream: @unchecked Sendable {
    // @unchecked: the handle is immutable; the driver orders work on it.
    let context: CUDAContext
    let handle: CUstream

    public init(context: CUDAContext) throws {
        self.context = context
        try context.makeCurrent()
        var stream: CUstream?
        try context.driver.check(
            context.driver.raw.cuStreamCreate!(&stream, UInt32(CCUDA_STREAM_NON_BLOCKING)), "cuStreamCreate")
        guard let stream else { throw CUDAError("cuStreamCreate returned no stream") }
        handle = stream
    }

    deinit { _ = context.driver.raw.cuStreamDestroy!(handle) }

    /// Waits for everything queued so far.
    public func synchronize() throws {
        try context.makeCurrent()
        try context.driver.check(context.driver.raw.cuStreamSynchronize!(handle), "cuStreamSynchronize")
    }
}

/// A CUDA event, for timing regions of a stream.
public final class CUDAEvent: @unchecked Sendable {
    // @unchecked: the handle is immutable; the driver synchronizes events.
    let context: CUDAContext
    let handle: CUevent

    public init(context: CUDAContext) throws {
        self.context = context
        try context.makeCurrent()
        var event: CUevent?
        try context.driver.check(
            context.driver.raw.cuEventCreate!(&event, UInt32(CCUDA_EVENT_DEFAULT)), "cuEventCreate")
        guard let event else { throw CUDAError("cuEventCreate returned no event") }
        handle = event
    }

    deinit { _ = context.driver.raw.cuEventDestroy!(handle) }

    public func record(on stream: CUDAStream) throws {
        try context.driver.check(context.driver.raw.cuEventRecord!(handle, stream.handle), "cuEventRecord")
    }

    public func synchronize() throws {
        try context.driver.check(context.driver.raw.cuEventSynchronize!(handle), "cuEventSynchronize")
    }

    /// Milliseconds from `start` to this event (both recorded and complete).
    public func milliseconds(since start: CUDAEvent) throws -> Float {
        var milliseconds: Float = 0
        try context.driver.check(
            context.driver.raw.cuEventElapsedTime!(&milliseconds, start.handle, handle), "cuEventElapsedTime")
        return milliseconds
    }
}
