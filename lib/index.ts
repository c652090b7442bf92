/**
 * Llama Lab: a Llama training library for notebooks. Preloaded as `llama` in the Llama Lab kernel.
 */
export { initBackend, backendName, BACKEND_ENV } from "./backend";
export type { BackendName } from "./backend";
export { Random } from "./random";
export { requestInterrupt, interruptRequested, clearInterrupt } from "./interrupt";
export { OWNS_TENSORS, ownsTensors } from "./ownership";
export { display, DisplayHandle, setDisplaySink } from "./display/sink";
export type { MimeBundle, DisplaySink } from "./display/sink";
export { plot, plotlyBundle, lineChart, barChart, PLOTLY_MIME } from "./display/plotly";
export type { Figure, Series } from "./display/plotly";
export { svgLineChart } from "./display/svg_chart";
export { TrainingProgress, formatDuration } from "./display/progress";
export { showTable, tableBundle } from "./display/table";
