/// The router's handlers wrapped in the interceptors, composed once when the server starts.
package struct ServerPipeline: Sendable {
    package struct Entry: Sendable {
        package let access: MethodAccess
        package let handler: Router.Handler
        /// The method's immediate answer wrapped in the interceptors, if it has one.
        package let immediateHandler: Router.ImmediateHandler?
    }

    private let entries: [String: Entry]

    package init(router: Router, interceptors: [any ServerInterceptor]) {
        var entries: [String: Entry] = [:]
        for name in router.methodNames {
            guard let route = router.route(for: name) else { continue }
            var handler = route.handler
            var immediateHandler = route.immediateHandler
            for interceptor in interceptors.reversed() {
                let next = handler
                handler = { request, context in
                    try await interceptor.intercept(request: request, context: context, next: next)
                }
                if let nextImmediate = immediateHandler {
                    immediateHandler = { request, context in
                        try interceptor.interceptImmediately(request: request, context: context, next: nextImmediate)
                    }
                }
            }
            entries[name] = Entry(access: route.access, handler: handler, immediateHandler: immediateHandler)
        }
        self.entries = entries
    }

    package func entry(for method: String) -> Entry? {
        self.entries[method]
    }
}
