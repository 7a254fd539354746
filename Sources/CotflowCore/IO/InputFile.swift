import Foundation

/// A file the user named: the path as given (what reports print) and its absolute path when the
/// run was described (what the run reads), so that `cotflow rerun` finds it from any working directory.
public struct InputFile: Codable, Sendable, Equatable, CustomStringConvertible {
    public var given: String
    public var path: String

    /// `given` resolved against `directory` (the working directory).
    public init(_ given: String, directory: String = FileManager.default.currentDirectoryPath) {
        self.given = given
        path = given.hasPrefix("/") ? given : (directory as NSString).appendingPathComponent(given)
    }

    public var description: String { given }
}

extension InputFile {
    /// The file's text; errors name the file as given.
    public func text(what: String = "file") throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CotflowError.input("\(given): no such file") }
        guard !isDirectory.boolValue else { throw CotflowError.input("\(given) is a directory, not a \(what)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CotflowError.input("cannot read \(given)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// The file named `name` in the same directory.
    public func sibling(_ name: String) -> InputFile {
        var file = self
        file.given = ((given as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        file.path = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
        return file
    }
}
