// Vite's client types: imports of style sheets (a chart library's CSS) are modules to the type checker too.
/// <reference types="vite/client" />
