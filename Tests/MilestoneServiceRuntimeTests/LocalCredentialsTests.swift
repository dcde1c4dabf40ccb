import Foundation
import MilestoneRPC
import MilestoneRPCNIO
import Testing

@Suite("Local credentials and secrets", .timeLimit(.minutes(1)))
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

    @Test("processes starting together on a new data folder agree on one set of tokens")
    func concurrentCreation() async throws {
        for round in 0..<10 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("milestone-\(UUID().uuidString)/data")
            defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
            let results = try await withThrowingTaskGroup(of: LocalCredentials.self) { group in
                for _ in 0..<8 {
                    group.addTask { try LocalCredentials.loadOrCreate(dataDirectory: folder.path) }
                }
                return try await group.reduce(into: [LocalCredentials]()) { $0.append($1) }
            }
            let onDisk = try #require(try LocalCredentials.load(dataDirectory: folder.path))
            #expect(results.allSatisfy { $0 == onDisk }, "round \(round): every starter uses the tokens on disk")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(leftovers == ["credentials.json"], "round \(round): no temporary file is left behind")
        }
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
