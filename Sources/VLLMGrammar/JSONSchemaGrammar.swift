/// JSON Schema → grammar, for the language xgrammar (vLLM's default backend) accepts for the same
/// schema with its defaults (`any_whitespace`: `[ \n\r\t]*` between tokens; strict mode: no property or
/// array item the schema does not declare): properties in the schema's order, required ones present,
/// `enum` / `const` values spelled as compact JSON, numeric bounds as digit ranges.
///
/// Supported: `type` (one or a list), `properties`, `required`, `additionalProperties` (false, true or a
/// schema), `items`, `prefixItems`, `minItems`, `maxItems`, `enum`, `const`, `anyOf`, `oneOf` (as anyOf),
/// a one-element `allOf`, `$ref` into `$defs` / `definitions` (recursion included), `minLength`,
/// `maxLength`, `pattern` (regex, `RegexGrammar`), `minimum` / `maximum` / `exclusiveMinimum` /
/// `exclusiveMaximum` (`NumericRanges.swift`), and the formats xgrammar knows (`JSONSchemaGrammar+Formats.swift`).
/// Refused with a message naming the keyword: what would be silently weaker (`allOf` of several, a `false`
/// schema, a `$ref` outside the document). Not enforced (the value is any value of its type, as
/// docs/structured-outputs.md lists): `uniqueItems`, `minProperties` / `maxProperties`, `multipleOf`, `not`.
public struct JSONSchemaGrammar {
    private var rules: [Grammar.Rule] = []
    private var defined = Set<String>()
    private var refNames: [String: String] = [:]
    private let document: SchemaValue
    private var counter = 0
    /// Between tokens: `[ \n\r\t]*` (xgrammar's `any_whitespace`), or nothing, with `", "` and `": "`
    /// as the separators (vLLM's `disable_any_whitespace`).
    private let ws: GrammarExpression
    private let comma: GrammarExpression
    private let colon: GrammarExpression

    public static func grammar(forSchema text: String, anyWhitespace: Bool = true) throws(GrammarError) -> Grammar {
        try grammar(for: try SchemaValue.parse(text), anyWhitespace: anyWhitespace)
    }

    public static func grammar(for schema: SchemaValue, anyWhitespace: Bool = true) throws(GrammarError) -> Grammar {
        var builder = JSONSchemaGrammar(document: schema, anyWhitespace: anyWhitespace)
        let root = try builder.convert(schema, name: "root")
        builder.rules.insert(.init(name: "root", body: root), at: 0)
        return Grammar(rules: builder.rules, rootName: "root")
    }

    /// Any JSON value (`response_format: json_object`; xgrammar's builtin JSON grammar accepts an object
    /// or an array at the top).
    public static func anyJSON(topLevelObjectOrArray: Bool = true, anyWhitespace: Bool = true) -> Grammar {
        var builder = JSONSchemaGrammar(document: .object([]), anyWhitespace: anyWhitespace)
        let root: GrammarExpression = topLevelObjectOrArray
            ? .choice([builder.basic("basic_object"), builder.basic("basic_array")]) : builder.basic("basic_any")
        builder.rules.insert(.init(name: "root", body: root), at: 0)
        return Grammar(rules: builder.rules, rootName: "root")
    }

    private init(document: SchemaValue, anyWhitespace: Bool) {
        self.document = document
        if anyWhitespace {
            ws = .repetition(
                .characterClass(CharacterClass(ranges: [0x20...0x20, 0x0A...0x0A, 0x0D...0x0D, 0x09...0x09])), min: 0, max: nil)
            comma = .sequence([ws, .literal(","), ws])
            colon = .sequence([ws, .literal(":"), ws])
        } else {
            ws = .empty
            comma = .literal(", ")
            colon = .literal(": ")
        }
    }
    static let digit = GrammarExpression.characterClass(CharacterClass(ranges: [0x30...0x39]))
    static let nonZeroDigit = GrammarExpression.characterClass(CharacterClass(ranges: [0x31...0x39]))
    /// A raw string character: not a quote, backslash or control character.
    static let stringCharacter = GrammarExpression.characterClass(
        CharacterClass(ranges: [0...0x1F, 0x22...0x22, 0x5C...0x5C], negated: true))

    /// The rule `name`, defined on first use. The name is reserved before `body` runs, so a body may refer
    /// to its own rule, directly or through rules it builds with the builder it is handed.
    private mutating func define<E: Error>(
        _ name: String, _ body: (inout JSONSchemaGrammar) throws(E) -> GrammarExpression
    ) throws(E) -> GrammarExpression {
        guard defined.insert(name).inserted else { return .rule(name) }
        let index = rules.count
        rules.append(.init(name: name, body: .empty))
        rules[index].body = try body(&self)
        return .rule(name)
    }

    private mutating func fresh(_ base: String) -> String {
        counter += 1
        return "\(base)_\(counter)"
    }

    /// The shared rules for unconstrained values.
    mutating func basic(_ name: String) -> GrammarExpression {
        switch name {
        case "basic_escape":
            return define(name) { _ in
                .choice([
                    .characterClass(CharacterClass(ranges: ("\"\\/bfnrt" as String).unicodeScalars.map { $0.value...$0.value })),
                    .sequence([.literal("u"), .repetition(.characterClass(Self.hexDigit), min: 4, max: 4)]),
                ])
            }
        case "basic_string_sub":
            let escape = basic("basic_escape")
            return define(name) { _ in
                .choice([
                    .literal("\""),
                    .sequence([Self.stringCharacter, .rule(name)]),
                    .sequence([.literal("\\"), escape, .rule(name)]),
                ])
            }
        case "basic_string":
            let sub = basic("basic_string_sub")
            return define(name) { _ in .sequence([.literal("\""), sub]) }
        case "basic_integer":
            return define(name) { _ in
                .choice([.literal("0"), .sequence([.repetition(.literal("-"), min: 0, max: 1), Self.nonZeroDigit,
                                                   .repetition(Self.digit, min: 0, max: nil)])])
            }
        case "basic_number":
            return define(name) { _ in
                .sequence([
                    .repetition(.literal("-"), min: 0, max: 1),
                    .choice([.literal("0"), .sequence([Self.nonZeroDigit, .repetition(Self.digit, min: 0, max: nil)])]),
                    .repetition(.sequence([.literal("."), .repetition(Self.digit, min: 1, max: nil)]), min: 0, max: 1),
                    .repetition(.sequence([
                        .characterClass(CharacterClass(ranges: [0x45...0x45, 0x65...0x65])),
                        .repetition(.characterClass(CharacterClass(ranges: [0x2B...0x2B, 0x2D...0x2D])), min: 0, max: 1),
                        .repetition(Self.digit, min: 1, max: nil),
                    ]), min: 0, max: 1),
                ])
            }
        case "basic_boolean":
            return define(name) { _ in .choice([.literal("true"), .literal("false")]) }
        case "basic_null":
            return define(name) { _ in .literal("null") }
        case "basic_any":
            return define(name) { g in
                .choice(["basic_number", "basic_string", "basic_boolean", "basic_null", "basic_array", "basic_object"]
                    .map { g.basic($0) })
            }
        case "basic_array":
            return define(name) { g in
                let any = g.basic("basic_any")
                return .choice([
                    .sequence([.literal("["), g.ws, any, .repetition(.sequence([g.comma, any]), min: 0, max: nil), g.ws, .literal("]")]),
                    .sequence([.literal("["), g.ws, .literal("]")]),
                ])
            }
        case "basic_object":
            return define(name) { g in
                let member = GrammarExpression.sequence([g.basic("basic_string"), g.colon, g.basic("basic_any")])
                return .choice([
                    .sequence([.literal("{"), g.ws, member, .repetition(.sequence([g.comma, member]), min: 0, max: nil), g.ws,
                               .literal("}")]),
                    .sequence([.literal("{"), g.ws, .literal("}")]),
                ])
            }
        default:
            preconditionFailure("no basic rule \(name)")
        }
    }

    static let hexDigit = CharacterClass(ranges: [0x30...0x39, 0x41...0x46, 0x61...0x66])

    // MARK: - Schemas

    mutating func convert(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        if case .bool(let value) = schema {
            guard value else { throw GrammarError("the schema at '\(name)' is `false`: no value can match it") }
            return basic("basic_any")
        }
        guard schema.isObject else { throw GrammarError("the schema at '\(name)' is not an object or a boolean") }
        if let reference = schema["$ref"]?.stringValue {
            let siblings = Self.constraining(schema, without: "$ref")
            guard !siblings.isEmpty else { return try ref(reference) }
            // Keywords beside a $ref constrain the referenced schema too (xgrammar merges them).
            return try convert(merged(try resolve(reference), siblings), name: name)
        }
        if let values = schema["enum"]?.arrayValue {
            guard !values.isEmpty else { throw GrammarError("`enum` at '\(name)' is empty: no value can match it") }
            return .choice(values.map { .literal($0.compactJSON) })
        }
        if let value = schema["const"] { return .literal(value.compactJSON) }
        // As xgrammar reads them, anyOf / oneOf / allOf members stand alone: keywords beside them are not merged in.
        for keyword in ["anyOf", "oneOf"] {
            if let options = schema[keyword]?.arrayValue {
                guard !options.isEmpty else { throw GrammarError("`\(keyword)` at '\(name)' is empty") }
                var alternatives: [GrammarExpression] = []
                for (index, option) in options.enumerated() {
                    alternatives.append(try convert(option, name: "\(name)_case_\(index)"))
                }
                return .choice(alternatives)
            }
        }
        if let all = schema["allOf"]?.arrayValue {
            guard all.count == 1 else {
                throw GrammarError("`allOf` with \(all.count) schemas at '\(name)' is not supported (one schema only)")
            }
            return try convert(all[0], name: name)
        }
        switch schema["type"] {
        case .string(let type)?:
            return try typed(type, schema, name: name)
        case .array(let types)?:
            var alternatives: [GrammarExpression] = []
            for type in types {
                guard let type = type.stringValue else { throw GrammarError("`type` at '\(name)' lists a non-string") }
                alternatives.append(try typed(type, schema, name: "\(name)_\(type)"))
            }
            return .choice(alternatives)
        case nil:
            if schema["properties"] != nil || schema["additionalProperties"] != nil {
                return try typed("object", schema, name: name)
            }
            if schema["items"] != nil || schema["prefixItems"] != nil { return try typed("array", schema, name: name) }
            return basic("basic_any")
        default:
            throw GrammarError("`type` at '\(name)' must be a string or a list of strings")
        }
    }

    /// Keywords that constrain a value (not annotations, not `$defs`), except `excluded`.
    static func constraining(_ schema: SchemaValue, without excluded: String) -> [(key: String, value: SchemaValue)] {
        guard case .object(let members) = schema else { return [] }
        let ignored: Set<String> = [excluded, "$defs", "definitions", "$schema", "$id", "$comment", "title", "description",
                                    "default", "examples"]
        return members.filter { !ignored.contains($0.key) }
    }

    /// `base` with `extra` laid over it.
    private func merged(_ base: SchemaValue, _ extra: [(key: String, value: SchemaValue)]) -> SchemaValue {
        guard case .object(var members) = base else { return .object(extra) }
        for (key, value) in extra {
            members.removeAll { $0.key == key }
            members.append((key, value))
        }
        return .object(members)
    }

    private func resolve(_ reference: String) throws(GrammarError) -> SchemaValue {
        guard reference.hasPrefix("#") else {
            throw GrammarError("`$ref` '\(reference)' points outside the schema; only '#/…' references are supported")
        }
        var target = document
        for part in reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let key = String(part).split(separator: "~1", omittingEmptySubsequences: false).joined(separator: "/")
                .split(separator: "~0", omittingEmptySubsequences: false).joined(separator: "~")
            if let array = target.arrayValue, let index = Int(key), array.indices.contains(index) {
                target = array[index]
            } else if let next = target[key] {
                target = next
            } else {
                throw GrammarError("`$ref` '\(reference)' does not resolve in the schema")
            }
        }
        return target
    }

    private mutating func ref(_ reference: String) throws(GrammarError) -> GrammarExpression {
        if let name = refNames[reference] { return .rule(name) }
        let target = try resolve(reference)
        let path = reference.dropFirst().split(separator: "/", omittingEmptySubsequences: true)
        if path.isEmpty { return .rule("root") }
        let name = fresh("defs_" + String(path.last!).filter { $0.isLetter || $0.isNumber || $0 == "_" })
        refNames[reference] = name
        return try define(name) { (g) throws(GrammarError) in try g.convert(target, name: name) }
    }

    private mutating func typed(_ type: String, _ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        switch type {
        case "string": return try string(schema, name: name)
        case "integer": return try integer(schema, name: name)
        case "number": return try number(schema, name: name)
        case "boolean": return basic("basic_boolean")
        case "null": return basic("basic_null")
        case "object": return try object(schema, name: name)
        case "array": return try array(schema, name: name)
        default: throw GrammarError("`type` '\(type)' at '\(name)' is not a JSON Schema type")
        }
    }

    private mutating func string(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        if let pattern = schema["pattern"]?.stringValue {
            let content = try RegexGrammar.expression(pattern, characters: Self.stringCharacter)
            return .sequence([.literal("\""), content, .literal("\"")])
        }
        if let format = schema["format"]?.stringValue, let content = Self.format(format) {
            return .sequence([.literal("\""), content, .literal("\"")])
        }
        let minimum = Int(schema["minLength"]?.numberValue ?? 0)
        let maximum = schema["maxLength"]?.numberValue.map { Int($0) }
        if minimum > 0 || maximum != nil {
            guard maximum.map({ $0 >= minimum }) ?? true else {
                throw GrammarError("`maxLength` is below `minLength` at '\(name)'")
            }
            // Raw characters, counted (no escapes), as xgrammar counts them — but, a deliberate departure,
            // no control character either: xgrammar's class lets U+0000–U+001F through, which no JSON
            // parser accepts unescaped.
            let character = Self.stringCharacter
            return .sequence([.literal("\""), .repetition(character, min: minimum, max: maximum), .literal("\"")])
        }
        return basic("basic_string")
    }

    private mutating func integer(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        func bound(_ key: String) throws(GrammarError) -> Double? {
            guard let value = schema[key] else { return nil }
            guard let number = value.numberValue, number.isFinite, abs(number) < 1e18 else {
                throw GrammarError("`\(key)` at '\(name)' must be a number")
            }
            return number
        }
        var lower: Int64? = try bound("minimum").map { Int64($0.rounded(.up)) }
        var upper: Int64? = try bound("maximum").map { Int64($0.rounded(.down)) }
        if let exclusive = try bound("exclusiveMinimum") {
            let value = Int64(exclusive.rounded(.down)) + 1
            lower = max(lower ?? value, value)
        }
        if let exclusive = try bound("exclusiveMaximum") {
            let value = Int64(exclusive.rounded(.up)) - 1
            upper = min(upper ?? value, value)
        }
        guard lower != nil || upper != nil else { return basic("basic_integer") }
        if let lower, let upper, lower > upper {
            throw GrammarError("the bounds at '\(name)' leave no integer (\(lower) > \(upper))")
        }
        return .choice(IntegerRange.alternatives(lower: lower, upper: upper))
    }

    /// A `number` with bounds: xgrammar's float range (`NumberRange`); the larger lower bound wins, and
    /// on a tie the exclusive one (likewise for the upper).
    private mutating func number(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        func bound(_ key: String) throws(GrammarError) -> DecimalText? {
            guard let value = schema[key] else { return nil }
            guard let number = value.numberValue, number.isFinite else {
                throw GrammarError("`\(key)` at '\(name)' must be a number")
            }
            return DecimalText(number)
        }
        var lower = try bound("minimum").map { NumberRange.Bound(value: $0, exclusive: false) }
        var upper = try bound("maximum").map { NumberRange.Bound(value: $0, exclusive: false) }
        if let exclusive = try bound("exclusiveMinimum"), lower.map({ !(exclusive < $0.value) }) ?? true {
            lower = NumberRange.Bound(value: exclusive, exclusive: true)
        }
        if let exclusive = try bound("exclusiveMaximum"), upper.map({ !($0.value < exclusive) }) ?? true {
            upper = NumberRange.Bound(value: exclusive, exclusive: true)
        }
        guard lower != nil || upper != nil else { return basic("basic_number") }
        let alternatives = NumberRange.alternatives(lower: lower, upper: upper)
        guard !alternatives.isEmpty else {
            throw GrammarError("the bounds at '\(name)' leave no number")
        }
        return .choice(alternatives)
    }

    private mutating func object(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        var properties: [(key: String, value: SchemaValue)] = []
        if case .object(let members)? = schema["properties"] { properties = members }
        let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        let additional = schema["additionalProperties"]
        if properties.isEmpty && required.isEmpty && schema["patternProperties"] == nil
            && (additional == nil || additional == .bool(true)) && schema["unevaluatedProperties"] == nil
        {
            return basic("basic_object")
        }
        // A required key the properties do not describe is ignored (as xgrammar does), but the object is
        // no longer free-form: only its declared properties may appear.
        var members: [GrammarExpression] = []
        for (index, property) in properties.enumerated() {
            let value = try convert(property.value, name: "\(name)_prop_\(index)")
            members.append(.sequence([.literal(SchemaValue.quoted(property.key)), colon, value]))
        }
        // Others: any key with a value of `additionalProperties` (any value where it is `true`).
        var others: [GrammarExpression] = []
        if case .object(let patterns)? = schema["patternProperties"] {
            for (index, pattern) in patterns.enumerated() {
                let key = try RegexGrammar.expression(pattern.key, characters: Self.stringCharacter)
                let value = try convert(pattern.value, name: "\(name)_pattern_\(index)")
                others.append(.sequence([.literal("\""), key, .literal("\""), colon, value]))
            }
        }
        switch additional ?? schema["unevaluatedProperties"] {
        case .bool(true)?:
            others.append(.sequence([basic("basic_string"), colon, basic("basic_any")]))
        case .object?:
            let value = try convert((additional ?? schema["unevaluatedProperties"])!, name: "\(name)_addl")
            others.append(.sequence([basic("basic_string"), colon, value]))
        default:
            break
        }
        let extra: GrammarExpression? = others.isEmpty ? nil : others.count == 1 ? others[0] : .choice(others)
        // after[i]: what may follow once something is written, from property i on; first[i]: the same
        // with nothing written yet (no leading comma). nil: nothing can be written.
        var after: [GrammarExpression] = Array(repeating: .empty, count: properties.count + 1)
        after[properties.count] = extra.map { .repetition(.sequence([comma, $0]), min: 0, max: nil) } ?? .empty
        var first: [GrammarExpression?] = Array(repeating: nil, count: properties.count + 1)
        first[properties.count] = extra.map { .sequence([$0, after[properties.count]]) }
        for index in stride(from: properties.count - 1, through: 0, by: -1) {
            let present = GrammarExpression.sequence([members[index], after[index + 1]])
            let isRequired = required.contains(properties[index].key)
            let rest = isRequired ? GrammarExpression.sequence([comma, present]) : .choice([.sequence([comma, present]), after[index + 1]])
            after[index] = define(fresh("\(name)_part")) { _ in rest }
            if isRequired {
                first[index] = present
            } else if let later = first[index + 1] {
                first[index] = .choice([present, later])
            } else {
                first[index] = present
            }
        }
        var alternatives: [GrammarExpression] = []
        if let body = first[0] { alternatives.append(.sequence([.literal("{"), ws, body, ws, .literal("}")])) }
        if required.isEmpty { alternatives.append(.sequence([.literal("{"), ws, .literal("}")])) }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }

    private mutating func array(_ schema: SchemaValue, name: String) throws(GrammarError) -> GrammarExpression {
        let prefix = schema["prefixItems"]?.arrayValue ?? []
        let items = schema["items"]
        if prefix.isEmpty && items == nil && schema["minItems"] == nil && schema["maxItems"] == nil {
            return basic("basic_array")
        }
        let minimum = Int(schema["minItems"]?.numberValue ?? 0)
        var maximum = schema["maxItems"]?.numberValue.map { Int($0) }
        // Strict: with prefixItems and no items, nothing past the prefix; without prefixItems, any value.
        var item: GrammarExpression? = nil
        switch items {
        case .bool(false)?: break
        case nil: if prefix.isEmpty { item = basic("basic_any") }
        default: item = try convert(items!, name: "\(name)_item")
        }
        if item == nil { maximum = min(maximum ?? prefix.count, prefix.count) }
        if let maximum, maximum < minimum {
            throw GrammarError("`minItems` \(minimum) cannot be met at '\(name)' (at most \(maximum) items)")
        }
        var elements: [GrammarExpression] = []
        for (index, schema) in prefix.enumerated() { elements.append(try convert(schema, name: "\(name)_prefix_\(index)")) }
        // Positions written out one by one: the prefix, and the items up to minItems.
        let explicit = max(prefix.count, minimum)
        while elements.count < explicit, let item { elements.append(item) }
        // Past them: more items, up to maxItems.
        var tail: GrammarExpression = .empty
        if let item {
            let more = maximum.map { max(0, $0 - explicit) }
            if more != 0 { tail = .repetition(.sequence([comma, item]), min: 0, max: more) }
        }
        // Build from the end: position i is required while i < minimum.
        var rest = tail
        for index in stride(from: elements.count - 1, through: 1, by: -1) {
            let present = GrammarExpression.sequence([comma, elements[index], rest])
            rest = index < minimum ? present : .choice([present, .empty])
            let body = rest
            rest = define(fresh("\(name)_suffix")) { _ in body }
        }
        var alternatives: [GrammarExpression] = []
        if let firstElement = elements.first {
            alternatives.append(.sequence([.literal("["), ws, firstElement, rest, ws, .literal("]")]))
        } else if let item, maximum != 0 {
            let more: GrammarExpression = maximum.map { .repetition(.sequence([comma, item]), min: 0, max: $0 - 1) }
                ?? .repetition(.sequence([comma, item]), min: 0, max: nil)
            alternatives.append(.sequence([.literal("["), ws, item, more, ws, .literal("]")]))
        }
        if minimum == 0 { alternatives.append(.sequence([.literal("["), ws, .literal("]")])) }
        return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
    }
}
