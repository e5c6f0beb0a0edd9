// `require('ganglion')`: ganglion is an ES module package. Node ≥ 20.19 can
// require() it (require of ES modules without top-level await); older Node
// cannot, and gets this explanation instead of ERR_PACKAGE_PATH_NOT_EXPORTED
// or ERR_REQUIRE_ESM.
'use strict';
try {
  module.exports = require('./dist/host/index.js');
} catch (e) {
  if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error(
      "ganglion is an ES module package (ESM only) and this Node cannot require() it. " +
        "Use `import { createPipeline } from 'ganglion'` in an ES module, or `const { createPipeline } = await import('ganglion')` from CommonJS " +
        '(Node >= 20.19 can also require() it).',
      { cause: e },
    );
  }
  throw e;
}
