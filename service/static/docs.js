// Starts Swagger UI on /docs. A file, not an inline script, so the page runs under a
// Content-Security-Policy without 'unsafe-inline'. Options as FastAPI's default /docs.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
