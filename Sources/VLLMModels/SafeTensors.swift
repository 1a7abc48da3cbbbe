import FoundationEssentials
import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the raw tensor bytes.
public final class SafeTensorsFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and never changes after init.
    public struct Entry: Sendable {
        public var dtype: DType
        public var shape: [Int]
        /// Byte range within the data section.
        public var range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    /// Tensors of a valid safetensors dtype no model here reads (I64 buffers such as BERT's
    /// `position_ids` and compressed-tensors' `weight_shape`, bools, f64): name → dtype. Loading one is an error naming its dtype.
    public let unloadable: [String: String]
    private let base: UnsafeMutableRawPointer
    private let mappedSize: Int
    private let dataStart: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ModelError("\(path): cannot stat") }
        let size = Int(info.st_size)
        guard size >= 8 else { throw ModelError("\(path): \(size) bytes is too short for a safetensors file") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw ModelError("\(path): mmap failed (\(String(cString: strerror(errno))))")
        }
        base = mapped
        mappedSize = size
        do {
            let headerLength = Int(UInt64(littleEndian: mapped.loadUnaligned(as: UInt64.self)))
            guard headerLength > 0, headerLength <= size - 8 else {
                throw ModelError("\(path): header length \(headerLength) does not fit in the file's \(size) bytes")
            }
            dataStart = 8 + headerLength
            let header = Data(bytes: mapped + 8, count: headerLength)
            (entries, unloadable) = try Self.parseHeader(header, dataSize: size - dataStart, path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
    }

    deinit { munmap(base, mappedSize) }

    /// The raw bytes of a tensor, valid as long as this file object lives.
    public func bytes(of entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + dataStart + entry.range.lowerBound, count: entry.range.count)
    }

    /// safetensors dtypes that are valid but that no model here loads.
    static let unloadableDTypes: Set<String> = ["I64", "U64", "U32", "I16", "U16", "U8", "BOOL", "F64"]

    private static func parseHeader(_ data: Data, dataSize: Int, path: String) throws
        -> (entries: [String: Entry], unloadable: [String: String]) {
        let raw: [String: HeaderValue]
        do {
            raw = try JSONDecoder().decode([String: HeaderValue].self, from: data)
        } catch {
            throw ModelError("\(path): the safetensors header is not valid JSON: \(ModelConfig.describe(error))")
        }
        var entries: [String: Entry] = [:], unloadable: [String: String] = [:]
        for (name, value) in raw {
            guard case .tensor(let dtypeName, let shape, let offsets) = value else { continue }
            if unloadableDTypes.contains(dtypeName) {
                unloadable[name] = dtypeName
                continue
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw ModelError("\(path): tensor '\(name)' has dtype \(dtypeName); supported: \(DType.allCases.map(\.safetensorsName).joined(separator: ", "))")
            }
            guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw ModelError("\(path): tensor '\(name)' has data_offsets \(offsets) outside the \(dataSize)-byte data section")
            }
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) * dtype.size == offsets[1] - offsets[0] else {
                throw ModelError("\(path): tensor '\(name)' of shape \(shape) \(dtype.safetensorsName) does not match its \(offsets[1] - offsets[0]) bytes")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: offsets[0]..<offsets[1])
        }
        return (entries, unloadable)
    }

    /// A header value: a tensor description, or the `__metadata__` string map.
    private enum HeaderValue: Decodable {
        case tensor(dtype: String, shape: [Int], offsets: [Int])
        case metadata

        private enum Keys: String, CodingKey { case dtype, shape, data_offsets }

        init(from decoder: Decoder) throws {
            if decoder.codingPath.last?.stringValue == "__metadata__" {
                self = .metadata
                return
            }
            let c = try decoder.container(keyedBy: Keys.self)
            self = .tensor(dtype: try c.decode(String.self, forKey: .dtype), shape: try c.decode([Int].self, forKey: .shape),
                           offsets: try c.decode([Int].self, forKey: .data_offsets))
        }
    }
}

/// Every tensor of a checkpoint: `model.safetensors`, or the shards named by `model.safetensors.index.json`.
public final class Checkpoint: @unchecked Sendable {
    // @unchecked: immutable after init.
    public let directory: URL
    private let files: [SafeTensorsFile]
    private let location: [String: (file: Int, entry: SafeTensorsFile.Entry)]

    public init(directory: URL) throws {
        self.directory = directory
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        var shardNames: [String]
        var expected: [String: String] = [:]
        if FileManager.default.fileExists(atPath: index.path) {
            guard let data = try? Data(contentsOf: index) else { throw ModelError("\(index.path): unreadable") }
            struct Index: Decodable { var weight_map: [String: String] }
            do {
                expected = try JSONDecoder().decode(Index.self, from: data).weight_map
            } catch {
                throw ModelError("\(index.path): not a valid index (needs a \"weight_map\" object): \(ModelConfig.describe(error))")
            }
            shardNames = Array(Set(expected.values)).sorted()
        } else if FileManager.default.fileExists(atPath: single.path) {
            shardNames = ["model.safetensors"]
        } else {
            throw ModelError("\(directory.path): no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are supported)")
        }
        files = try shardNames.map { try SafeTensorsFile(path: directory.appendingPathComponent($0).path) }
        var location: [String: (Int, SafeTensorsFile.Entry)] = [:]
        for (i, file) in files.enumerated() {
            for (name, entry) in file.entries { location[name] = (i, entry) }
        }
        for (name, shard) in expected where location[name] == nil {
            throw ModelError("\(index.path): tensor '\(name)' is mapped to \(shard) but that file does not hold it")
        }
        // A decoder saved as its bare base model (sentence-transformers saves Qwen3Model: `layers.0…`,
        // `embed_tokens.weight`, as Qwen3-Embedding is published) is read under the causal LM's names, as vLLM
        // maps them: every name gains the "model." prefix.
        if location["embed_tokens.weight"] != nil, location["model.embed_tokens.weight"] == nil {
            location = Dictionary(uniqueKeysWithValues: location.map { ("model." + $0.key, $0.value) })
        }
        self.location = location
    }

    public var tensorNames: [String] { location.keys.sorted() }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The entry and bytes of a float tensor `name` (F32, F16 or BF16), checked against the shape the model expects.
    public func tensor(_ name: String, shape: [Int]) throws -> (entry: SafeTensorsFile.Entry, bytes: UnsafeRawBufferPointer) {
        try tensor(name, shape: shape, dtypes: [.float32, .float16, .bfloat16])
    }

    /// The entry and bytes of tensor `name`, checked against the shape the model expects (nil: any shape)
    /// and the dtypes it can read.
    public func tensor(_ name: String, shape: [Int]?, dtypes: [DType]) throws
        -> (entry: SafeTensorsFile.Entry, bytes: UnsafeRawBufferPointer) {
        guard let (fileIndex, entry) = location[name] else {
            if let file = files.first(where: { $0.unloadable[name] != nil }) {
                throw ModelError("\(file.path): tensor '\(name)' has dtype \(file.unloadable[name]!), expected \(Self.list(dtypes))")
            }
            throw ModelError("\(directory.path): tensor '\(name)' is missing from the checkpoint")
        }
        let file = files[fileIndex]
        if let shape, entry.shape != shape {
            throw ModelError("\(file.path): tensor '\(name)' has shape \(entry.shape), expected \(shape)")
        }
        guard dtypes.contains(entry.dtype) else {
            throw ModelError("\(file.path): tensor '\(name)' has dtype \(entry.dtype.safetensorsName), expected \(Self.list(dtypes))")
        }
        return (entry, file.bytes(of: entry))
    }

    /// The dtype of tensor `name`, if the checkpoint holds it in a dtype that can be read.
    public func dtype(of name: String) -> DType? { location[name]?.entry.dtype }

    private static func list(_ dtypes: [DType]) -> String {
        let names = dtypes.map(\.safetensorsName)
        return names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + names.last!
    }
}
