// Character classes with the meanings HF tokenizers gives them: Oniguruma's \p{L}, \p{N}, \s for Split
// regexes, Rust's char methods and `regex` crate's \w for the built-in pre-tokenizers. ASCII is answered
// from a table; everything else from the standard library's Unicode properties.

/// Bit flags for ASCII scalars.
private enum ASCIIClass {
    static let letter: UInt8 = 1
    static let digit: UInt8 = 2
    static let space: UInt8 = 4
    static let punctuation: UInt8 = 8

    /// One entry per ASCII scalar.
    static let table: [UInt8] = (0..<128).map { code -> UInt8 in
        let c = UInt8(code)
        var flags: UInt8 = 0
        if (c >= 65 && c <= 90) || (c >= 97 && c <= 122) { flags |= letter }
        if c >= 48 && c <= 57 { flags |= digit }
        if c == 32 || (c >= 9 && c <= 13) { flags |= space }
        if (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) {
            flags |= punctuation
        }
        return flags
    }
}

extension Unicode.Scalar {
    /// \p{L}: general category Lu, Ll, Lt, Lm or Lo.
    @inline(__always) var isLetter: Bool {
        if value < 128 { return ASCIIClass.table[Int(value)] & ASCIIClass.letter != 0 }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// \p{N}: general category Nd, Nl or No (also Rust's `char::is_numeric`).
    @inline(__always) var isNumber: Bool {
        if value < 128 { return ASCIIClass.table[Int(value)] & ASCIIClass.digit != 0 }
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// \s, and Rust's `char::is_whitespace`: the White_Space property.
    @inline(__always) var isSpace: Bool {
        if value < 128 { return ASCIIClass.table[Int(value)] & ASCIIClass.space != 0 }
        return properties.isWhitespace
    }

    /// The `regex` crate's Unicode \w: Alphabetic, marks, decimal digits, connector punctuation, join controls.
    var isWordCharacter: Bool {
        if value < 128 { return ASCIIClass.table[Int(value)] & (ASCIIClass.letter | ASCIIClass.digit) != 0 || value == 95 }
        let props = properties
        if props.isAlphabetic || props.isJoinControl { return true }
        switch props.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// Unicode punctuation (P*), as `unicode_categories::UnicodeCategories::is_punctuation`.
    var isUnicodePunctuation: Bool {
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// BERT's punctuation: any ASCII symbol or punctuation, or Unicode punctuation.
    var isBertPunctuation: Bool {
        if value < 128 { return ASCIIClass.table[Int(value)] & ASCIIClass.punctuation != 0 }
        return isUnicodePunctuation
    }

    /// Any mark (Mn, Mc, Me): what the StripAccents normalizer removes after NFD.
    var isMark: Bool {
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// BertNormalizer's "control": Cc, Cf, Co, Cs, except tab, newline and carriage return. Unassigned
    /// code points (Cn) are kept: the category tables HF uses list none (checked against HF on U+FDD0,
    /// U+FFFF and emoji newer than those tables).
    var isBertControl: Bool {
        if value == 9 || value == 10 || value == 13 { return false }
        switch properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BertNormalizer's CJK ideograph ranges.
    var isChineseCharacter: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}
