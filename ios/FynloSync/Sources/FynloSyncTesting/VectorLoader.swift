import Foundation
import FynloSyncCore

/// Finds the JSON vectors shared with the Python tests (`shared/schema/vectors/`) by walking
/// up from the calling file, not through SwiftPM resources (fragile on Linux); or from
/// `FYNLO_VECTORS_DIR` when set.
public enum VectorLoader {
    public static func load(_ name: String, from filePath: String = #filePath) throws -> JSONValue {
        try JSONReader.parse(Data(contentsOf: try locate(name, from: filePath)))
    }

    public static func locate(_ name: String, from filePath: String = #filePath) throws -> URL {
        if let folder = ProcessInfo.processInfo.environment["FYNLO_VECTORS_DIR"], !folder.isEmpty {
            return URL(fileURLWithPath: folder).appendingPathComponent(name)
        }
        var folder = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        // Bounded by the path's depth: the walk ends at the filesystem root.
        for _ in 0..<64 {
            let candidate = folder.appendingPathComponent("shared/schema/vectors").appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        throw JSONShapeError("no shared/schema/vectors/\(name) above \(filePath)")
    }
}
