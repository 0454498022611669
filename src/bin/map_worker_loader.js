// Starts the map worker: loads the wasm-bindgen glue that Trunk built for the
// map-worker binary (target no-modules), then its wasm, whose main installs
// the message handler and posts "ready". If loading fails the worker never
// posts "ready", and the app keeps computing the maps in the page.
importScripts('./map-worker.js');
wasm_bindgen({ module_or_path: './map-worker_bg.wasm' }).catch((error) => {
  console.error('map worker: loading map-worker_bg.wasm failed:', error);
  close();
});
