import Foundation
import MilestoneClient
import MilestoneRPCNIO
import Testing

@Suite("Secrets stay secret")
struct LocalCredentialsTests {
    @Test("the credentials file is created once, mode 0600 in a 0700 folder, with 256-bit tokens")
    func credentialsFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)/data")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let created = try LocalCredentials.loadOrCreate(dataDirectory: folder.path)
        #expect(created.adminToken.count == 64 && created.serviceToken.count == 64)
        #expect(created.adminToken != created.serviceToken)
        let path = LocalCredentials.fileURL(dataDirectory: folder.path).path
        let fileMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(fileMode == 0o600)
        let folderMode = try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        #expect(try LocalCredentials.loadOrCreate(dataDirectory: folder.path) == created, "a second start keeps the tokens")
    }

    @Test("descriptions never show tokens")
    func redaction() {
        let credentials = LocalCredentials(adminToken: "admin-secret-value", serviceToken: "service-secret-value")
        let configuration = RPCClientConfiguration(token: "client-secret-value")
        for text in ["\(credentials)", String(reflecting: credentials), "\(configuration)", String(reflecting: configuration)] {
            #expect(!text.contains("secret-value"), "\(text)")
        }
    }
}
