import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../../core/context.js';
import { packageFile, staticRoute } from '../../core/pages.js';
import type { FrontdeskPlugin } from '../../core/plugin.js';

export interface ExplorerOptions {
  /** auto: Apollo Sandbox when the browser reaches Apollo's CDN, else GraphiQL; sandbox; graphiql (offline only). */
  mode: 'auto' | 'sandbox' | 'graphiql';
  /** The operation the explorer opens with. */
  document: string;
  graphqlPath: string;
}

const SANDBOX_SCRIPT = 'https://embeddable-sandbox.cdn.apollographql.com/_latest/embeddable-sandbox.umd.production.min.js';
/** The headers the explorer opens with: an Authorization field to fill in (sent only once it holds a credential). */
const DEFAULT_HEADERS = '{\n  "Authorization": "Bearer "\n}';

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function landingHtml(options: ExplorerOptions): string {
  const offline = options.mode === 'graphiql';
  // Only what each mode loads: this origin, and for Sandbox Apollo's script and frame.
  const csp = offline
    ? "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'"
    : "default-src 'self'; script-src 'self' https://embeddable-sandbox.cdn.apollographql.com; frame-src https://sandbox.embed.apollographql.com; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";
  const config = { mode: options.mode, endpoint: options.graphqlPath, query: options.document, headers: DEFAULT_HEADERS, sandboxScript: SANDBOX_SCRIPT };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<title>Frontdesk explorer</title>
<link rel="stylesheet" href="/explorer/graphiql.min.css">
<style>html, body, #explorer { height: 100%; margin: 0; } #explorer-note { font: 13px system-ui, sans-serif; padding: 4px 10px; background: #f6f7f9; border-bottom: 1px solid #d9dee7; } #explorer-note:empty { display: none; } #explorer-wrap { display: flex; flex-direction: column; height: 100%; } #explorer { flex: 1; min-height: 0; }</style>
</head>
<body>
<div id="explorer-wrap"><div id="explorer-note"></div><div id="explorer"></div></div>
<script id="explorer-config" type="application/json">${scriptJson(config)}</script>
<script src="/explorer/explorer.js"></script>
</body>
</html>
`;
}

/** The page's script: Sandbox when asked and reachable, else GraphiQL from this gateway. No template literals: it is one. */
const EXPLORER_JS = `(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('explorer-config').textContent);
  var target = document.getElementById('explorer');
  function note(text) { document.getElementById('explorer-note').textContent = text; }
  function load(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error('cannot load ' + src)); };
      document.head.appendChild(script);
    });
  }
  function parsedHeaders(text) { try { var value = JSON.parse(text || '{}'); return value && typeof value === 'object' ? value : {}; } catch (e) { return {}; } }
  // A header left empty (or just "Bearer") is not sent: the request goes anonymous.
  function usable(headers) {
    var out = {};
    Object.keys(headers || {}).forEach(function (name) {
      var value = String(headers[name]).trim();
      if (value !== '' && !/^bearer$/i.test(value)) out[name] = value;
    });
    return out;
  }
  function graphiql() {
    return load('/explorer/react.production.min.js')
      .then(function () { return load('/explorer/react-dom.production.min.js'); })
      .then(function () { return load('/explorer/graphiql.min.js'); })
      .then(function () {
        var fetcher = function (params, options) {
          var headers = Object.assign({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' }, usable(options && options.headers));
          return fetch(config.endpoint, { method: 'POST', headers: headers, body: JSON.stringify(params), credentials: 'omit' }).then(function (res) { return res.json(); });
        };
        var root = ReactDOM.createRoot(target);
        root.render(React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultQuery: config.query,
          defaultHeaders: config.headers,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: false,
          defaultEditorToolsVisibility: 'headers'
        }));
        document.documentElement.dataset.explorer = 'graphiql';
      });
  }
  function sandbox() {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error('Apollo Sandbox did not load in time')); }, 4000);
      load(config.sandboxScript).then(function () {
        clearTimeout(timer);
        if (!window.EmbeddedSandbox) { reject(new Error('Apollo Sandbox did not start')); return; }
        new window.EmbeddedSandbox({
          target: '#explorer',
          initialEndpoint: location.origin + config.endpoint,
          initialState: { document: config.query, headers: parsedHeaders(config.headers), includeCookies: false },
          includeCookies: false,
          hideCookieToggle: true,
          endpointIsEditable: false,
          runTelemetry: false
        });
        document.documentElement.dataset.explorer = 'sandbox';
        resolve();
      }, function (error) { clearTimeout(timer); reject(error); });
    });
  }
  var start = config.mode === 'graphiql' ? graphiql() : sandbox().catch(function (error) {
    if (config.mode === 'sandbox') throw error;
    note('Apollo Sandbox is out of reach (' + error.message + '): this is GraphiQL, served by the gateway.');
    return graphiql();
  });
  start.catch(function (error) { note('The explorer could not start: ' + error.message); });
})();
`;

/**
 * The landing page on GET of the GraphQL path in a browser: an explorer with the demo query and an
 * Authorization header field. `graphiql` serves GraphiQL (from npm, with React) from the gateway
 * itself and loads nothing from elsewhere; `auto` tries Apollo Sandbox (no telemetry) and falls
 * back to GraphiQL when Apollo's CDN is out of reach.
 */
export function createExplorerPlugin(options: ExplorerOptions): FrontdeskPlugin {
  const html = landingHtml(options);
  const year = 'public, max-age=31536000, immutable';
  const js = 'text/javascript; charset=utf-8';
  const apollo: ApolloServerPlugin<GatewayContext> = {
    async serverWillStart() {
      return {
        async renderLandingPage() {
          return { html };
        },
      };
    },
  };
  return {
    name: 'explorer',
    apollo,
    routes: {
      '/explorer/explorer.js': staticRoute(EXPLORER_JS, js),
      '/explorer/graphiql.min.js': staticRoute(packageFile('graphiql', 'graphiql.min.js'), js, year),
      '/explorer/graphiql.min.css': staticRoute(packageFile('graphiql', 'graphiql.min.css'), 'text/css; charset=utf-8', year),
      '/explorer/react.production.min.js': staticRoute(packageFile('react', 'umd/react.production.min.js'), js, year),
      '/explorer/react-dom.production.min.js': staticRoute(packageFile('react-dom', 'umd/react-dom.production.min.js'), js, year),
    },
  };
}
