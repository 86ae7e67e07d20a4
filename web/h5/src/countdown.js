// The seconds before a new SMS code may be asked for (the server's
// retry_after), counted down once a second; the timer stops with the page.
import { ref, onBeforeUnmount } from 'vue';

export function useCountdown() {
  const wait = ref(0);
  let timer = null;
  function start(s) {
    wait.value = s;
    clearInterval(timer);
    timer = setInterval(() => {
      wait.value -= 1;
      if (wait.value <= 0) { wait.value = 0; clearInterval(timer); }
    }, 1000);
  }
  onBeforeUnmount(() => clearInterval(timer));
  return { wait, start };
}
