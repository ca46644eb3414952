import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { followDesktopTheme } from "./theme";

// The theme first: the window is shown once the app has painted, in the right colours.
await followDesktopTheme();
const app = mount(App, { target: document.getElementById("app")! });

export default app;
