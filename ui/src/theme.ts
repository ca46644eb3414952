// Light or dark on the root element (`data-theme`), as the desktop says. On Linux the app
// reads the desktop's theme (WebKitGTK's prefers-color-scheme stays light there) and says
// when it changes; elsewhere the web view's own prefers-color-scheme is followed.
import { commands, events, type Theme } from "./bindings";

function apply(theme: Theme) {
  document.documentElement.dataset.theme = theme;
}

/** Sets the theme before the first paint and keeps it current. */
export async function followDesktopTheme(): Promise<void> {
  // Set by the app's first script (Linux): no round trip before the first paint. The
  // settings portal's view, which only the window knows, is asked for afterwards.
  if (document.documentElement.dataset.theme) {
    void events.onAppearance(apply);
    void commands.appearance().then((theme) => theme && apply(theme), () => {});
    return;
  }
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  const fromPage = (): Theme => (media.matches ? "dark" : "light");
  let fromApp: Theme | null = null;
  try {
    fromApp = await commands.appearance();
  } catch {
    // The page's own preference is the fallback.
  }
  if (fromApp) {
    apply(fromApp);
    void events.onAppearance(apply);
  } else {
    apply(fromPage());
    media.addEventListener("change", () => apply(fromPage()));
  }
}
