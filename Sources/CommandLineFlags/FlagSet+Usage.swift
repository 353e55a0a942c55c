extension FlagSet {
    /// Help text for every non-hidden flag, sorted by name, laid out as pflag's `FlagUsages()`:
    ///
    ///       --name string   what it does (default "sub")
    ///   -v, --v int         log level
    ///
    /// Defaults are shown as the Go program would print them and left out when they are the zero value.
    public func usage() -> String {
        let rows = visibleFlagsSortedByName.map { flag in
            var head = flag.shorthand.map { "  -\($0), --\(flag.name)" } ?? "      --\(flag.name)"
            let (typeWord, text) = flag.unquotedUsage
            if !typeWord.isEmpty { head += " " + typeWord }
            var description = text
            if let shown = flag.defaultText { description += " (default \(shown))" }
            return (head: head, description: description)
        }
        // pflag's layout: descriptions start three columns after the longest head.
        let column = (rows.map(\.head.count).max() ?? 0) + 3
        return rows.map { row in
            let padding = String(repeating: " ", count: column - row.head.count)
            // Continuation lines of a multi-line usage are indented to the description column.
            let description = row.description.replacing(
                "\n", with: "\n" + String(repeating: " ", count: column))
            return row.head + padding + description + "\n"
        }.joined()
    }

    /// A Markdown table of every non-hidden flag, sorted by name, for generating a README flag reference.
    public func markdownTable() -> String {
        var lines = ["| Flag | Type | Default | Description |", "| --- | --- | --- | --- |"]
        for flag in visibleFlagsSortedByName {
            let names = (flag.shorthand.map { "`-\($0)`, " } ?? "") + "`--\(flag.name)`"
            let typeWord = flag.unquotedUsage.typeWord
            let type = flag.kind == .bool ? "bool" : typeWord
            let defaultCell = flag.defaultText.map { "`\($0)`" } ?? ""
            let cells = [names, type, defaultCell, flag.usage].map(markdownCell)
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var visibleFlagsSortedByName: [FlagSpec] {
        flags.filter { !$0.hidden }.sorted { $0.name < $1.name }
    }
}

/// A table cell must stay on one row and must not end the cell early.
private func markdownCell(_ text: String) -> String {
    text.replacing("|", with: "\\|")
        .split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        .joined(separator: "<br>")
}

extension FlagSpec {
    /// pflag's `UnquoteUsage`: the first backquoted word names the argument and loses its backquotes;
    /// otherwise the kind's type name is used.
    var unquotedUsage: (typeWord: String, text: String) {
        let parts = usage.split(separator: "`", maxSplits: 2, omittingEmptySubsequences: false)
        if parts.count == 3 {
            return (String(parts[1]), String(parts[0] + parts[1] + parts[2]))
        }
        return (kind.typeName, usage)
    }

    /// The default as Go would print it, or nil when it is the zero value pflag leaves out.
    var defaultText: String? {
        switch defaultValue {
        case .bool(let value):
            return value ? "true" : nil
        case .string(let value):
            return value.isEmpty ? nil : goQuote(value)
        case .int(let value):
            return value == 0 ? nil : String(value)
        case .float(let value):
            return value == 0 ? nil : formatGoFloat(value)
        case .duration(let value):
            let text = formatGoDuration(value)
            return text == "0s" ? nil : text
        case .strings(let values):
            return values.isEmpty ? nil : "[" + values.map(csvField).joined(separator: ",") + "]"
        case .keyValues(let pairs):
            return pairs.isEmpty ? nil : pairs.map(\.description).joined(separator: ",")
        case .bytes(let value):
            return value == 0 ? nil : formatByteQuantity(value)
        }
    }
}

/// Go's CSV writer quoting, which pflag uses to print list defaults, so the shown default parses back.
private func csvField(_ field: String) -> String {
    let needsQuotes =
        field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
        || field.first?.isWhitespace == true
    guard needsQuotes else { return field }
    return "\"" + field.replacing("\"", with: "\"\"") + "\""
}
