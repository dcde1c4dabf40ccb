/// The router's handlers wrapped in the interceptors, composed once when the server starts.
package struct ServerPipeline: Sendable {
    package struct Entry: Sendable {
        package let access: MethodAccess
        package let handler: Router.Handler
    }

    private let entries: [String: Entry]

    package init(router: Router, interceptors: [any ServerInterceptor]) {
        var entries: [String: Entry] = [:]
        for name in router.methodNames {
            guard let route = router.route(for: name) else { continue }
            var handler = route.handler
            for interceptor in interceptors.reversed() {
                let next = handler
                handler = { request, context in
                    try await interceptor.intercept(request: request, context: context, next: next)
                }
            }
            entries[name] = Entry(access: route.access, handler: handler)
        }
        self.entries = entries
    }

    package func entry(for method: String) -> Entry? {
        self.entries[method]
    }
}
