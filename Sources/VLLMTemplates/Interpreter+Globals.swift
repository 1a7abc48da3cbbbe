import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The global functions a chat template can call: jinja2's (`range`, `dict`, `namespace`, `cycler`,
/// `joiner`) and transformers' (`raise_exception`, `strftime_now`).
extension Interpreter {
    func installGlobals() {
        let functions: [Function] = [
            Function("range") { arguments in
                let numbers = try arguments.positional.map { value in
                    guard let i = value.integer else {
                        throw TemplateError.runtime("TypeError: '\(value.typeName)' object cannot be interpreted as an integer")
                    }
                    return i
                }
                let (start, stop, step): (Int, Int, Int)
                switch numbers.count {
                case 1: (start, stop, step) = (0, numbers[0], 1)
                case 2: (start, stop, step) = (numbers[0], numbers[1], 1)
                case 3: (start, stop, step) = (numbers[0], numbers[1], numbers[2])
                default: throw TemplateError.runtime("TypeError: range expected 1 to 3 arguments, got \(numbers.count)")
                }
                guard step != 0 else { throw TemplateError.runtime("ValueError: range() arg 3 must not be zero") }
                let values = Array(stride(from: start, to: stop, by: step))
                // The sandbox's MAX_RANGE.
                guard values.count <= 100_000 else {
                    throw TemplateError.runtime("OverflowError: Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
                }
                return .array(values.map { .int($0) })
            },
            Function("dict") { arguments in
                var dict = PyDict()
                for positional in arguments.positional {
                    if case .dict(let other) = positional {
                        for (k, v) in other.pairs { dict[k] = v }
                    } else if case .array(let pairs) = positional {
                        for pair in pairs {
                            guard case .array(let kv) = pair, kv.count == 2 else {
                                throw TemplateError.runtime("ValueError: dictionary update sequence element has wrong length")
                            }
                            dict[kv[0]] = kv[1]
                        }
                    }
                }
                for (key, value) in arguments.keyword { dict[.string(key)] = value }
                return .dict(dict)
            },
            Function("namespace") { arguments in
                var attributes = PyDict()
                for positional in arguments.positional {
                    if case .dict(let other) = positional { for (k, v) in other.pairs { attributes[k] = v } }
                }
                for (key, value) in arguments.keyword { attributes[.string(key)] = value }
                return .object(Namespace(attributes))
            },
            Function("cycler") { arguments in
                guard !arguments.positional.isEmpty else {
                    throw TemplateError.runtime("RuntimeError: at least one item has to be provided")
                }
                return .object(Cycler(arguments.positional))
            },
            Function("joiner") { arguments in
                let separator = try arguments.bind("joiner", ["sep"], defaults: [.string(", ")])[0]
                let joiner = Joiner(separator.pythonString)
                return .function(Function("joiner") { _ in .string(joiner.next()) })
            },
            Function("raise_exception") { arguments in
                let message = try arguments.bind("raise_exception", ["message"], defaults: [])[0]
                throw TemplateError.raised(message.pythonString)
            },
            Function("strftime_now") { [unowned self] arguments in
                let format = try arguments.bind("strftime_now", ["format"], defaults: [])[0]
                return .string(self.strftime(format.pythonString))
            },
        ]
        for function in functions { globals.variables[function.name] = .function(function) }
    }

    /// C `strftime` (what Python's `datetime.strftime` calls) on `now` in `timeZone`.
    func strftime(_ format: String) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: now)
        var time = tm()
        time.tm_year = Int32((c.year ?? 1970) - 1900)
        time.tm_mon = Int32((c.month ?? 1) - 1)
        time.tm_mday = Int32(c.day ?? 1)
        time.tm_hour = Int32(c.hour ?? 0)
        time.tm_min = Int32(c.minute ?? 0)
        time.tm_sec = Int32(c.second ?? 0)
        time.tm_wday = Int32((c.weekday ?? 1) - 1)
        time.tm_yday = Int32((calendar.ordinality(of: .day, in: .year, for: now) ?? 1) - 1)
        time.tm_isdst = -1
        var buffer = [Int8](repeating: 0, count: 512)
        let written = Foundation.strftime(&buffer, buffer.count, format, &time)
        return String(decoding: buffer[0..<written].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// `cycler(a, b, …)`: `next()`, `current`, `reset()`.
final class Cycler: TemplateObject {
    let items: [Value]
    var position = 0
    init(_ items: [Value]) { self.items = items }
    var typeName: String { "Cycler" }

    func attribute(_ name: String) -> Value? {
        switch name {
        case "current": return items[position]
        case "next":
            return .function(Function("next") { _ in
                let value = self.items[self.position]
                self.position = (self.position + 1) % self.items.count
                return value
            })
        case "reset":
            return .function(Function("reset") { _ in
                self.position = 0
                return .none
            })
        default: return nil
        }
    }
}

/// The state of `joiner(sep)`: "" the first time, `sep` after.
final class Joiner {
    let separator: String
    var isUsed = false
    init(_ separator: String) { self.separator = separator }

    func next() -> String {
        defer { isUsed = true }
        return isUsed ? separator : ""
    }
}
