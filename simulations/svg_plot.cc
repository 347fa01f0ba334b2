#include "simulations/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fl::sim {
namespace {

std::string fmt(const char* f, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// 1, 2 or 5 times a power of ten, giving about `ticks` intervals over `span`.
double nice_step(double span, int ticks) {
  const double raw = span / ticks;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

constexpr char kEpsilonColour[] = "#ff7f0e";

// The epsilon series against its own axis at `right`, from 0 (nothing spent)
// up: epsilon only grows, so its scale is unrelated to accuracy's.
template <typename XOfRound>
std::string epsilon_axis(const AccuracyPlot& plot, double right, double top, double height,
                         const XOfRound& x) {
  double most = 0;
  for (const auto& [r, e] : plot.epsilon) most = std::max(most, e);
  if (!(most > 0)) most = 1;
  const double step = nice_step(most, 5);
  const double hi = std::ceil(most / step - 1e-9) * step;
  auto y = [&](double e) { return top + (hi - e) / hi * height; };
  std::string s;
  s += "<line x1=\"" + fmt("%.1f", right) + "\" y1=\"" + fmt("%.1f", top) + "\" x2=\"" +
       fmt("%.1f", right) + "\" y2=\"" + fmt("%.1f", top + height) + "\" stroke=\"" +
       kEpsilonColour + "\"/>\n";
  for (double v = 0; v <= hi + step * 1e-6; v += step)
    s += "<text x=\"" + fmt("%.1f", right + 8) + "\" y=\"" + fmt("%.1f", y(v) + 4) + "\" fill=\"" +
         kEpsilonColour + "\">" + fmt("%g", v) + "</text>\n";
  s += "<text transform=\"translate(" + fmt("%.1f", right + 52) + " " +
       fmt("%.1f", top + height / 2) + ") rotate(90)\" text-anchor=\"middle\" fill=\"" +
       kEpsilonColour + "\">" + escape(plot.epsilon_label) + "</text>\n";
  s += "<polyline fill=\"none\" stroke=\"" + std::string(kEpsilonColour) +
       "\" stroke-width=\"2\" points=\"";
  for (const auto& [r, e] : plot.epsilon) s += fmt("%.1f", x(r)) + "," + fmt("%.1f", y(e)) + " ";
  s += "\"/>\n";
  return s;
}

}  // namespace

std::string accuracy_svg(const AccuracyPlot& plot) {
  constexpr double kWidth = 760, kHeight = 460;
  constexpr double kLeft = 70, kTop = 50, kBottom = 60;
  const bool privacy = !plot.epsilon.empty();
  const double right_margin = privacy ? 70 : 30;  // room for the epsilon axis
  const double w = kWidth - kLeft - right_margin, h = kHeight - kTop - kBottom;

  double lo = 1.0, hi = 0.0;
  for (const auto& [r, a] : plot.points) lo = std::min(lo, a), hi = std::max(hi, a);
  for (const auto& v : {plot.baseline, plot.target})
    if (v) lo = std::min(lo, *v), hi = std::max(hi, *v);
  if (hi < lo) lo = 0, hi = 1;
  lo = std::max(0.0, std::floor((lo - 0.02) * 20) / 20);
  hi = std::min(1.0, std::ceil((hi + 0.02) * 20) / 20);
  if (hi - lo < 0.05) hi = std::min(1.0, lo + 0.05), lo = hi - 0.05;
  const int rounds = std::max(1, plot.rounds);
  const double x0 = plot.points.empty() ? 0 : std::min(0, plot.points.front().first);
  auto x = [&](double round) { return kLeft + (round - x0) / (rounds - x0) * w; };
  auto y = [&](double acc) { return kTop + (hi - acc) / (hi - lo) * h; };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kWidth) + "\" height=\"" +
       fmt("%.0f", kHeight) + "\" viewBox=\"0 0 " + fmt("%.0f", kWidth) + " " +
       fmt("%.0f", kHeight) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  // A long title (scenario, model, partition, cohort) shrinks to fit the
  // width rather than being clipped: sans-serif glyphs average ~0.55 em.
  const double title_font =
      std::clamp((kWidth - 20) / (0.55 * std::max<size_t>(plot.title.size(), 1)), 9.0, 16.0);
  s += "<text x=\"" + fmt("%.1f", kWidth / 2) + "\" y=\"28\" text-anchor=\"middle\" font-size=\"" +
       fmt("%.1f", title_font) + "\">" + escape(plot.title) + "</text>\n";

  // Grid and ticks.
  const double ystep = nice_step(hi - lo, 6);
  for (double v = std::ceil(lo / ystep - 1e-9) * ystep; v <= hi + 1e-9; v += ystep) {
    s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" x2=\"" + fmt("%.1f", kLeft + w) + "\" y1=\"" +
         fmt("%.1f", y(v)) + "\" y2=\"" + fmt("%.1f", y(v)) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", kLeft - 8) + "\" y=\"" + fmt("%.1f", y(v) + 4) +
         "\" text-anchor=\"end\">" + fmt("%.0f%%", v * 100) + "</text>\n";
  }
  const double xstep = std::max(1.0, nice_step(rounds - x0, 8));
  for (double v = std::ceil(x0 / xstep) * xstep; v <= rounds + 1e-9; v += xstep) {
    s += "<line x1=\"" + fmt("%.1f", x(v)) + "\" x2=\"" + fmt("%.1f", x(v)) + "\" y1=\"" +
         fmt("%.1f", kTop) + "\" y2=\"" + fmt("%.1f", kTop + h) + "\" stroke=\"#f0f0f0\"/>\n";
    s += "<text x=\"" + fmt("%.1f", x(v)) + "\" y=\"" + fmt("%.1f", kTop + h + 18) +
         "\" text-anchor=\"middle\">" + fmt("%.0f", v) + "</text>\n";
  }
  // Axes and their labels.
  s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", kTop + h) + "\" x2=\"" +
       fmt("%.1f", kLeft + w) + "\" y2=\"" + fmt("%.1f", kTop + h) + "\" stroke=\"black\"/>\n";
  s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", kTop) + "\" x2=\"" +
       fmt("%.1f", kLeft) + "\" y2=\"" + fmt("%.1f", kTop + h) + "\" stroke=\"black\"/>\n";
  s += "<text x=\"" + fmt("%.1f", kLeft + w / 2) + "\" y=\"" + fmt("%.1f", kHeight - 18) +
       "\" text-anchor=\"middle\">round</text>\n";
  s += "<text transform=\"translate(18 " + fmt("%.1f", kTop + h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">test accuracy</text>\n";

  if (privacy) s += epsilon_axis(plot, kLeft + w, kTop, h, x);

  // Reference lines.
  if (plot.baseline)
    s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" x2=\"" + fmt("%.1f", kLeft + w) + "\" y1=\"" +
         fmt("%.1f", y(*plot.baseline)) + "\" y2=\"" + fmt("%.1f", y(*plot.baseline)) +
         "\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"8 5\"/>\n";
  if (plot.target)
    s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" x2=\"" + fmt("%.1f", kLeft + w) + "\" y1=\"" +
         fmt("%.1f", y(*plot.target)) + "\" y2=\"" + fmt("%.1f", y(*plot.target)) +
         "\" stroke=\"#2ca02c\" stroke-width=\"1.2\" stroke-dasharray=\"2 4\"/>\n";

  // The series.
  if (!plot.points.empty()) {
    s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"";
    for (const auto& [r, a] : plot.points) s += fmt("%.1f", x(r)) + "," + fmt("%.1f", y(a)) + " ";
    s += "\"/>\n";
    if (plot.points.size() <= 40)
      for (const auto& [r, a] : plot.points)
        s += "<circle cx=\"" + fmt("%.1f", x(r)) + "\" cy=\"" + fmt("%.1f", y(a)) +
             "\" r=\"2.5\" fill=\"#1f77b4\"/>\n";
  }

  // Legend, bottom right.
  int entries = 1 + (plot.baseline ? 1 : 0) + (plot.target ? 1 : 0) + (privacy ? 1 : 0);
  // Wider for the epsilon entry's longer label (~7 px a glyph at 12 px).
  const double legend_width =
      privacy ? std::max(250.0, 80.0 + 6.5 * (plot.epsilon_label.size() + 8)) : 250;
  const double lx = kLeft + w - legend_width, ly = kTop + h - 12 - entries * 20;
  s += "<rect x=\"" + fmt("%.1f", lx - 8) + "\" y=\"" + fmt("%.1f", ly - 6) + "\" width=\"" +
       fmt("%.0f", legend_width) + "\" height=\"" + fmt("%.0f", entries * 20.0 + 6) +
       "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#bbbbbb\"/>\n";
  auto legend = [&](int row, const std::string& style, const std::string& label) {
    const double yy = ly + 8 + row * 20;
    s += "<line x1=\"" + fmt("%.1f", lx) + "\" x2=\"" + fmt("%.1f", lx + 30) + "\" y1=\"" +
         fmt("%.1f", yy) + "\" y2=\"" + fmt("%.1f", yy) + "\" " + style + "/>\n";
    s += "<text x=\"" + fmt("%.1f", lx + 38) + "\" y=\"" + fmt("%.1f", yy + 4) + "\">" +
         escape(label) + "</text>\n";
  };
  int row = 0;
  legend(row++, "stroke=\"#1f77b4\" stroke-width=\"2\"", "federated (test accuracy)");
  if (plot.baseline)
    legend(row++, "stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"8 5\"",
           plot.baseline_label + " " + fmt("%.1f%%", *plot.baseline * 100));
  if (plot.target)
    legend(row++, "stroke=\"#2ca02c\" stroke-width=\"1.2\" stroke-dasharray=\"2 4\"",
           "target " + fmt("%.1f%%", *plot.target * 100));
  if (privacy)
    legend(row++, "stroke=\"" + std::string(kEpsilonColour) + "\" stroke-width=\"2\"",
           plot.epsilon_label + ": " + fmt("%.3g", plot.epsilon.back().second));
  s += "</svg>\n";
  return s;
}

}  // namespace fl::sim
