export { createExplorerPlugin, type ExplorerOptions } from './plugin.js';
