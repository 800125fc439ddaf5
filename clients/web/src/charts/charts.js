// Every chart the views draw, with Observable Plot: one module that
// charts/load.js imports on demand (esbuild makes it a chunk of its own).
export {dotPlot} from './dotplot.js';
export {forestPlot} from './forest.js';
export {cumulativePlot} from './cumulative.js';
export {timelinePlot} from './timeline.js';
