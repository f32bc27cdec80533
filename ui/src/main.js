// Placeholder entry point (the dashboard shell replaces this file): shows that the bundle
// loaded, so the server's static serving and the browser tests have something to load.
import { el, replace } from "./dom.js";

const root = document.getElementById("app");
replace(root, el("h1", {}, "MultiMonX"), el("p", {}, "The dashboard is being built."));
