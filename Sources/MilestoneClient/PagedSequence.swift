/// Every item of a paginated List call, page after page, as an async sequence: the next page is fetched
/// when the previous one is used up, and the sequence ends after the page with no next-page token.
///
/// ```swift
/// for try await organization in directory.organizations(namePrefix: "Acme") { … }
/// ```
public struct PagedSequence<Element: Sendable>: AsyncSequence, Sendable {
    /// Fetches the page at `token` ("" for the first): its items and the next token ("" at the end).
    public typealias FetchPage = @Sendable (_ token: String) async throws -> (items: [Element], nextPageToken: String)

    private let fetchPage: FetchPage

    public init(fetchPage: @escaping FetchPage) {
        self.fetchPage = fetchPage
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        private let fetchPage: FetchPage
        private var buffer: [Element] = []
        private var index = 0
        /// The token of the next page, or nil once the last page was fetched.
        private var nextToken: String? = ""

        init(fetchPage: @escaping FetchPage) {
            self.fetchPage = fetchPage
        }

        public mutating func next() async throws -> Element? {
            while self.index == self.buffer.count {
                guard let token = self.nextToken else { return nil }
                let page = try await self.fetchPage(token)
                self.buffer = page.items
                self.index = 0
                self.nextToken = page.nextPageToken.isEmpty ? nil : page.nextPageToken
            }
            defer { self.index += 1 }
            return self.buffer[self.index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(fetchPage: self.fetchPage)
    }

    /// Every item, in order.
    public func collect() async throws -> [Element] {
        var all: [Element] = []
        for try await item in self { all.append(item) }
        return all
    }
}
