/// JSON Schema's string formats: the languages xgrammar 0.2.7 gives them, written as regexes over a JSON
/// string's raw text (RFC 3339 dates, times and durations; RFC 4122 UUIDs; dotted IPv4 and RFC 4291
/// IPv6; RFC 1123 host names in lower case; RFC 5321 mailboxes; RFC 3986 URIs and references; RFC 6570
/// templates; RFC 6901 JSON pointers). Two departures, where xgrammar's language holds text no JSON
/// parser reads: a JSON pointer's characters are a JSON string's (xgrammar lets a raw quote, backslash or
/// control character through), and a quoted mailbox name escapes only with JSON's one-letter escapes
/// (xgrammar takes a backslash before any printable character).
extension JSONSchemaGrammar {
    static func format(_ format: String) -> GrammarExpression? {
        guard let pattern = formatPatterns[format] else { return nil }
        return try! RegexGrammar.expression(pattern, characters: nil)
    }

    static let formatPatterns: [String: String] = {
        let date = #"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"#
        let time = #"([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+\-]([01]\d|2[0-3]):[0-5]\d)"#
        // RFC 3339 appendix A: dates (days, months then days, years then months then days), times, weeks.
        let durationTime = #"T(\d+S|\d+M(\d+S)?|\d+H(\d+M(\d+S)?)?)"#
        let durationDate = #"(\d+D|\d+M(\d+D)?|\d+Y(\d+M(\d+D)?)?)"#
        let duration = "P(\(durationDate)(\(durationTime))?|\(durationTime)|\\d+W)"
        let octet = #"(25[0-5]|2[0-4]\d|[01]?\d?\d)"#
        // IPv6: eight groups, or fewer around one "::", or an embedded IPv4 address.
        let group = "[0-9a-fA-F]{1,4}"
        let v4Octet = #"(25[0-5]|(2[0-4]|1?[0-9])?[0-9])"#
        let v4 = "(\(v4Octet)\\.){3}\(v4Octet)"
        let ipv6 = [
            "(\(group):){7}\(group)",
            "(\(group):){1,7}:",
            "(\(group):){1,6}:\(group)",
            "(\(group):){1,5}(:\(group)){1,2}",
            "(\(group):){1,4}(:\(group)){1,3}",
            "(\(group):){1,3}(:\(group)){1,4}",
            "(\(group):){1,2}(:\(group)){1,5}",
            "\(group):((:\(group)){1,6})",
            ":((:\(group)){1,7}|:)",
            "::(ffff(:0{1,4})?:)?\(v4)",
            "(\(group):){1,4}:\(v4)",
        ].joined(separator: "|")
        let hostLabel = "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?"
        // A mailbox: a dot-atom or a quoted name (its quotes escaped in JSON), "@", a domain.
        let atom = #"[\w!#$%&'*+/=?^`{|}~\-]"#
        let quotedName = #"\\"(\\["\\/bfnrt]|[\x20\x21\x23-\x5B\x5D-\x7E])*\\""#
        let domain = #"[A-Za-z0-9]([\-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9][\-A-Za-z0-9]*[A-Za-z0-9])*"#
        // URIs (RFC 3986): characters of a path segment, of a query or fragment, of user info and host.
        let escaped = "%[0-9A-Fa-f][0-9A-Fa-f]"
        let pchar = "([\\w.~!$&'()*+,;=:@\\-]|\(escaped))"
        let queryChars = "([\\w.~!$&'()*+,;=:@/?\\-]|\(escaped))*"
        let tail = "(\\?\(queryChars))?(#\(queryChars))?"
        let authority = "(([\\w.~!$&'()*+,;=:\\-]|\(escaped))*@)?([\\w.~!$&'()*+,;=\\-]|\(escaped))*(:\\d*)?"
        let pathAbempty = "(/\(pchar)*)*"
        let hierPart = "(//\(authority)\(pathAbempty)|/?(\(pchar)+(/\(pchar)*)*)?)"
        let segmentNoColon = "([\\w.~!$&'()*+,;=@\\-]|\(escaped))+"
        let relativePart = "(//\(authority)\(pathAbempty)|/(\(pchar)+(/\(pchar)*)*)?|\(segmentNoColon)(/\(pchar)*)*)?"
        // URI templates (RFC 6570): literal characters, or {operator? variable(:prefix|*)?, …}.
        let literal = "([\\x21\\x23-\\x24\\x26\\x28-\\x3B\\x3D\\x3F-\\x5B\\x5D\\x5F\\x61-\\x7A\\x7E]|\(escaped))"
        let varchar = "(\\w|\(escaped))"
        let varspec = "\(varchar)(\\.?\(varchar))*(:[1-9]\\d?\\d?\\d?|\\*)?"
        let expression = "\\{([+#./;?&=,!@|])?\(varspec)(,\(varspec))*\\}"
        // JSON pointers (RFC 6901): "/"-separated tokens of any JSON string character but "/" and "~",
        // and "~0" / "~1".
        let pointer = #"(/([^/~"\\\x00-\x1F]|\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4}|~[01])*)*"#
        return [
            "date": date,
            "time": time,
            "date-time": "\(date)T\(time)",
            "duration": duration,
            "ipv4": "(\(octet)\\.){3}\(octet)",
            "ipv6": "(\(ipv6))",
            "hostname": "\(hostLabel)(\\.\(hostLabel))*",
            "uuid": "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}",
            "email": "(\(atom)+(\\.\(atom)+)*|\(quotedName))@\(domain)",
            "uri": "[a-zA-Z][a-zA-Z+.\\-]*:\(hierPart)\(tail)",
            "uri-reference": "\(relativePart)\(tail)",
            "uri-template": "(\(literal)|\(expression))*",
            "json-pointer": pointer,
            "relative-json-pointer": "(0|[1-9][0-9]*)(#|\(pointer))",
        ]
    }()
}
