//! Canvas helpers shared by the map views: contexts, sizes and RGBA blits.

use leptos::html::Canvas;
use leptos::prelude::*;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, ImageData, ResizeObserver};

/// Returns the 2D context of `canvas`, or `None` if the browser provides none.
pub fn context_2d(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Makes a canvas that is never attached to the page.
pub fn detached_canvas() -> Option<HtmlCanvasElement> {
    document().create_element("canvas").ok()?.dyn_into().ok()
}

/// Sets `canvas`'s pixel size to its CSS size times the device pixel ratio,
/// so drawings stay sharp; returns that ratio.
pub fn match_css_size(canvas: &HtmlCanvasElement) -> f64 {
    let ratio = leptos::prelude::window().device_pixel_ratio().max(1.0);
    let css_width = canvas.client_width().max(1) as f64;
    let css_height = canvas.client_height().max(1) as f64;
    let width = (css_width * ratio).round() as u32;
    let height = (css_height * ratio).round() as u32;
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    ratio
}

/// Puts an RGBA buffer of `width × height` pixels on `canvas` in one call,
/// resizing the canvas to the buffer.
pub fn put_rgba(
    canvas: &HtmlCanvasElement,
    rgba: &[u8],
    width: usize,
    height: usize,
) -> Option<()> {
    if canvas.width() != width as u32 || canvas.height() != height as u32 {
        canvas.set_width(width as u32);
        canvas.set_height(height as u32);
    }
    let image =
        ImageData::new_with_u8_clamped_array_and_sh(Clamped(rgba), width as u32, height as u32)
            .ok()?;
    context_2d(canvas)?.put_image_data(&image, 0.0, 0.0).ok()
}

/// A watch on an element's size on the page, which stops when dropped.
pub struct SizeWatch {
    observer: ResizeObserver,
    // The callback must live as long as the observer.
    _callback: Closure<dyn FnMut()>,
}

impl Drop for SizeWatch {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Calls `on_resize` once `element` has a size and after every change of it.
///
/// Besides a window resize, a scrollbar that appears or goes away, or a
/// panel that grows, changes the width too. Returns `None` where
/// the browser has no `ResizeObserver`.
pub fn watch_size(element: &Element, on_resize: impl FnMut() + 'static) -> Option<SizeWatch> {
    let callback = Closure::<dyn FnMut()>::new(on_resize);
    let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok()?;
    observer.observe(element);
    Some(SizeWatch {
        observer,
        _callback: callback,
    })
}

/// Returns a counter that goes up each time `canvas` changes size on the
/// page, for effects that must then draw it again.
pub fn size_changes(canvas: NodeRef<Canvas>) -> RwSignal<u64> {
    let changes = RwSignal::new(0_u64);
    let watch = StoredValue::new_local(None::<SizeWatch>);
    Effect::new(move |_| {
        if let Some(canvas) = canvas.get() {
            let started = watch_size(&canvas, move || changes.update(|count| *count += 1));
            watch.set_value(started);
        }
    });
    on_cleanup(move || watch.set_value(None));
    changes
}
