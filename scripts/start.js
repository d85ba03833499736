#!/usr/bin/env node
// `npm start`: the local runtime (see shared/runtime/local-main.ts).
'use strict';
process.argv.splice(2, 0, 'shared/runtime/local-main.ts');
require('./run-ts.js');
