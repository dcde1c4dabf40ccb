package import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files only their owner may read (mode 0600): credentials, keys, tokens.
package enum PrivateFile {
    /// Why a private file could not be written: the path and the system's errno.
    package struct WriteError: Error, CustomStringConvertible {
        package let path: String
        package let code: Int32

        package var description: String { "cannot write \(self.path): \(String(cString: strerror(self.code)))" }
        /// The file was there already (exclusive writes).
        package var exists: Bool { self.code == EEXIST }
    }

    /// Writes `data` to `path` with mode 0600, in full, then fsyncs. `exclusive`: fails (``WriteError/exists``)
    /// when a file is there; otherwise an existing file is replaced in place and made 0600 too.
    package static func write(_ data: Data, to path: String, exclusive: Bool) throws(WriteError) {
        let flags = O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC)
        let descriptor = open(path, flags, 0o600)
        guard descriptor >= 0 else { throw WriteError(path: path, code: errno) }
        defer { close(descriptor) }
        guard fchmod(descriptor, 0o600) == 0 else { throw WriteError(path: path, code: errno) }
        let failure: Int32? = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return fsync(descriptor) == 0 ? nil : errno
        }
        if let failure { throw WriteError(path: path, code: failure) }
    }
}

/// The C `write`, which `PrivateFile.write` hides inside the enum.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
