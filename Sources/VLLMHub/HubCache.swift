import Foundation

/// huggingface_hub's cache layout, so that each tool finds what the other stored:
///
///     <cache>/models--org--name/blobs/<etag>                 file contents, named by ETag (LFS files: their sha256)
///     <cache>/models--org--name/snapshots/<commit>/<file>    relative symlinks to ../../blobs/<etag>
///     <cache>/models--org--name/refs/<revision>              the commit a branch or tag pointed at
///
/// A download goes to `blobs/<etag>.incomplete` first (resumed from its length), then is renamed and linked.
public struct HubCache: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    /// `models--org--name`.
    public func repositoryFolder(_ repository: String) -> URL {
        root.appendingPathComponent("models--" + repository.replacingOccurrences(of: "/", with: "--"))
    }

    public func snapshotFolder(_ repository: String, commit: String) -> URL {
        repositoryFolder(repository).appendingPathComponent("snapshots/\(commit)")
    }

    public func blob(_ repository: String, etag: String) -> URL {
        repositoryFolder(repository).appendingPathComponent("blobs/\(etag)")
    }

    /// The commit `revision` names here: a 40-hex commit as is, else the one `refs/<revision>` recorded.
    public func commit(_ repository: String, revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        let ref = repositoryFolder(repository).appendingPathComponent("refs/\(revision)")
        guard let text = try? String(contentsOf: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return Self.isCommitHash(commit) ? commit : nil
    }

    public func recordRef(_ repository: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = repositoryFolder(repository).appendingPathComponent("refs/\(revision)")
        try FileManager.default.createDirectory(at: ref.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(commit.utf8).write(to: ref, options: .atomic)
    }

    /// Links `snapshots/<commit>/<file>` to its blob with a relative path, as huggingface_hub does.
    public func link(_ repository: String, commit: String, file: String, etag: String) throws {
        let link = snapshotFolder(repository, commit: commit).appendingPathComponent(file)
        try FileManager.default.createDirectory(at: link.deletingLastPathComponent(), withIntermediateDirectories: true)
        let depth = file.split(separator: "/").count + 1  // up from the file's folder to the repository folder
        let target = String(repeating: "../", count: depth) + "blobs/\(etag)"
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == target { return }
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: target)
    }

    /// Whether `file` of the snapshot is there (a link to a blob that exists, or a plain file).
    public func hasFile(_ repository: String, commit: String, file: String) -> Bool {
        FileManager.default.fileExists(atPath: snapshotFolder(repository, commit: commit).appendingPathComponent(file).path)
    }

    static func isCommitHash(_ text: String) -> Bool {
        text.count == 40 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }
}
